// Starts the telegram-test-api Bot API emulator on loopback for the Telegram tests.
// Usage: node scripts/telegram-test-api.js PORT [WATCH_PID]
// NODE_PATH names the node_modules it is installed in. PORT 0 picks a free port. It prints
// "listening http://127.0.0.1:PORT" once it accepts connections, and runs until it is
// killed or, when WATCH_PID is given, until that process has gone.
const net = require('net');
const TelegramServer = require('telegram-test-api');

const watch = Number(process.argv[3] || 0);
let server;

// The emulator takes port 0 for its default, 9000: find a free port first.
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

(async () => {
  const port = Number(process.argv[2] || 0) || await freePort();
  server = new TelegramServer({ port, host: '127.0.0.1', storeTimeout: 3600 });
  await server.start();
  console.log(`listening http://127.0.0.1:${port}`);
})().catch((err) => {
  console.error(`telegram-test-api: ${err}`);
  process.exit(1);
});
const stop = () => (server ? server.stop() : Promise.resolve()).then(() => process.exit(0), () => process.exit(0));
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, stop);
}
if (watch > 0) {
  setInterval(() => {
    try {
      process.kill(watch, 0);
    } catch (e) {
      stop();
    }
  }, 1000);
}
