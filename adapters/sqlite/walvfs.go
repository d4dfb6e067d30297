package sqlite

import (
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"modernc.org/libc"
	lib "modernc.org/sqlite/lib"
)

// walVFSName is the VFS the writer's connection opens the database through when every
// commit is synced (synchronous=FULL): SQLite's own "unix" VFS, except that the writes to
// a WAL file are gathered and reach the file as one pwrite when SQLite syncs it.
//
// Why: SQLite writes each WAL frame as two pwrites (its 24-byte header, then the page), so
// a batch of thirty tickets costs some two hundred system calls before its fsync. On the
// virtual machines a desk runs on a system call costs a few microseconds of CPU whatever
// its size; measured here, 48 small pwrites took 180 µs of CPU and one pwrite of the same
// bytes 8 µs (docs/benchmarks.md). The bytes, their order and the fsync are the same: a
// commit is answered only after xSync, and xSync writes what is gathered before it syncs.
//
// Only a file SQLite syncs after every commit may be gathered: other connections read the
// WAL's committed frames from the file, so frames must be in the file when a commit is
// visible. With synchronous=NORMAL a commit is not synced, so that setting does not use
// this VFS. Readers never gather either (they write nothing but recovery and checkpoint
// pages, which go straight to the file).
//
// A transaction rolled back after SQLite spilled frames to the WAL leaves them gathered
// with no sync to follow; they reach the file at the handle's next operation, past the last
// commit (or, after a checkpoint started the WAL over, carrying the old salt), where SQLite
// leaves old frames too and neither reads nor recovers them.
const walVFSName = "helpdeskd-walgather"

// walGatherMax is what one WAL handle gathers before it writes: the most the "unix" VFS
// writes in one call (its seekAndWrite masks a length with 0x1ffff), some thirty frames of
// 4 KiB pages.
const walGatherMax = 0x1ffff

// The VFS is registered with SQLite once per process, as SQLite's VFS list is the
// process's; the state below belongs to that registration.
var (
	walVFSOnce sync.Once
	walVFSErr  error
	// walBase is the "unix" VFS and walBaseIO the io_methods of the files it opens,
	// which every WAL handle of this VFS forwards to.
	walBase   *lib.Tsqlite3_vfs
	walBaseIO *lib.Tsqlite3_io_methods
	// walIO is walBaseIO with the methods that must see gathered bytes replaced.
	walIO      lib.Tsqlite3_io_methods
	walFilesMu sync.Mutex
	walFiles   = map[uintptr]*walFile{}
	// walFileWrites counts the writes that reached a WAL file through this VFS, and
	// walGathered the writes SQLite asked for; tests compare them.
	walFileWrites atomic.Int64
	walGathered   atomic.Int64
)

// walFile is what one open WAL handle holds between SQLite's xWrite and its xSync.
type walFile struct {
	buf []byte
	off int64 // the file offset of buf[0]
}

// registerWALVFS registers walVFSName with SQLite, once.
func registerWALVFS() error {
	walVFSOnce.Do(func() { walVFSErr = registerWALVFSOnce() })
	return walVFSErr
}

func registerWALVFSOnce() error {
	tls := libc.NewTLS()
	defer tls.Close()
	base := lib.Xsqlite3_vfs_find(tls, 0)
	if base == 0 {
		return fmt.Errorf("sqlite: no default VFS")
	}
	walBase = (*lib.Tsqlite3_vfs)(cmem(base))
	// The VFS, its name and the method tables live in SQLite's memory: SQLite keeps
	// pointers to them for the life of the process, out of the Go collector's sight.
	p := libc.Xcalloc(tls, 1, uint64(unsafe.Sizeof(lib.Tsqlite3_vfs{})))
	name, err := libc.CString(walVFSName)
	if p == 0 || err != nil {
		return fmt.Errorf("sqlite: allocate the WAL VFS")
	}
	v := (*lib.Tsqlite3_vfs)(cmem(p))
	*v = *walBase
	v.FpNext = 0
	v.FzName = name
	*(*func(*libc.TLS, uintptr, uintptr, uintptr, int32, uintptr) int32)(unsafe.Pointer(&v.FxOpen)) = walOpen
	if rc := lib.Xsqlite3_vfs_register(tls, p, 0); rc != lib.SQLITE_OK {
		return fmt.Errorf("sqlite: register the WAL VFS: code %d", rc)
	}
	return nil
}

// walOpen opens a file as the "unix" VFS does and, for a WAL file, routes its writes
// through the gathering methods.
func walOpen(tls *libc.TLS, pVfs, zName, pFile uintptr, flags int32, pOutFlags uintptr) int32 {
	rc := (*(*func(*libc.TLS, uintptr, uintptr, uintptr, int32, uintptr) int32)(unsafe.Pointer(&struct{ uintptr }{walBase.FxOpen})))(
		tls, uintptr(unsafe.Pointer(walBase)), zName, pFile, flags, pOutFlags)
	if rc != lib.SQLITE_OK || flags&lib.SQLITE_OPEN_WAL == 0 {
		return rc
	}
	f := (*lib.Tsqlite3_file)(cmem(pFile))
	walFilesMu.Lock()
	defer walFilesMu.Unlock()
	if walBaseIO == nil {
		walBaseIO = (*lib.Tsqlite3_io_methods)(cmem(f.FpMethods))
		walIO = *walBaseIO
		*(*func(*libc.TLS, uintptr) int32)(unsafe.Pointer(&walIO.FxClose)) = walClose
		*(*func(*libc.TLS, uintptr, uintptr, int32, int64) int32)(unsafe.Pointer(&walIO.FxRead)) = walRead
		*(*func(*libc.TLS, uintptr, uintptr, int32, int64) int32)(unsafe.Pointer(&walIO.FxWrite)) = walWrite
		*(*func(*libc.TLS, uintptr, int64) int32)(unsafe.Pointer(&walIO.FxTruncate)) = walTruncate
		*(*func(*libc.TLS, uintptr, int32) int32)(unsafe.Pointer(&walIO.FxSync)) = walSync
		*(*func(*libc.TLS, uintptr, uintptr) int32)(unsafe.Pointer(&walIO.FxFileSize)) = walFileSize
		*(*func(*libc.TLS, uintptr, int32, uintptr) int32)(unsafe.Pointer(&walIO.FxFileControl)) = walFileControl
	} else if f.FpMethods != uintptr(unsafe.Pointer(walBaseIO)) {
		// A file the "unix" VFS opened with other methods (another locking style) is
		// left as it is: gathering is an optimisation, never a requirement.
		return rc
	}
	walFiles[pFile] = &walFile{}
	f.FpMethods = uintptr(unsafe.Pointer(&walIO))
	return rc
}

func walFileOf(pFile uintptr) *walFile {
	walFilesMu.Lock()
	w := walFiles[pFile]
	walFilesMu.Unlock()
	return w
}

// flush writes what w gathered, as one write at its offset.
func (w *walFile) flush(tls *libc.TLS, pFile uintptr) int32 {
	if len(w.buf) == 0 {
		return lib.SQLITE_OK
	}
	rc := baseWrite(tls, pFile, uintptr(unsafe.Pointer(&w.buf[0])), int32(len(w.buf)), w.off)
	// What failed to reach the file is not kept: SQLite sees the error at its sync and
	// rolls the transaction back, and frames past the last commit are never read.
	w.buf = w.buf[:0]
	return rc
}

// baseWrite writes to the file through the "unix" VFS.
func baseWrite(tls *libc.TLS, pFile, zBuf uintptr, iAmt int32, iOfst int64) int32 {
	walFileWrites.Add(1)
	return (*(*func(*libc.TLS, uintptr, uintptr, int32, int64) int32)(unsafe.Pointer(&struct{ uintptr }{walBaseIO.FxWrite})))(tls, pFile, zBuf, iAmt, iOfst)
}

func walWrite(tls *libc.TLS, pFile, zBuf uintptr, iAmt int32, iOfst int64) int32 {
	w := walFileOf(pFile)
	walGathered.Add(1)
	n := int(iAmt)
	if len(w.buf) > 0 && (iOfst != w.off+int64(len(w.buf)) || len(w.buf)+n > walGatherMax) {
		if rc := w.flush(tls, pFile); rc != lib.SQLITE_OK {
			return rc
		}
	}
	if n > walGatherMax {
		return baseWrite(tls, pFile, zBuf, iAmt, iOfst)
	}
	if len(w.buf) == 0 {
		w.off = iOfst
		if w.buf == nil {
			w.buf = make([]byte, 0, walGatherMax)
		}
	}
	w.buf = append(w.buf, unsafe.Slice((*byte)(cmem(zBuf)), n)...)
	return lib.SQLITE_OK
}

func walSync(tls *libc.TLS, pFile uintptr, flags int32) int32 {
	if rc := walFileOf(pFile).flush(tls, pFile); rc != lib.SQLITE_OK {
		return rc
	}
	return (*(*func(*libc.TLS, uintptr, int32) int32)(unsafe.Pointer(&struct{ uintptr }{walBaseIO.FxSync})))(tls, pFile, flags)
}

// The other methods that look at the file's bytes or size see what is gathered first.

func walRead(tls *libc.TLS, pFile, zBuf uintptr, iAmt int32, iOfst int64) int32 {
	if rc := walFileOf(pFile).flush(tls, pFile); rc != lib.SQLITE_OK {
		return rc
	}
	return (*(*func(*libc.TLS, uintptr, uintptr, int32, int64) int32)(unsafe.Pointer(&struct{ uintptr }{walBaseIO.FxRead})))(tls, pFile, zBuf, iAmt, iOfst)
}

func walTruncate(tls *libc.TLS, pFile uintptr, size int64) int32 {
	if rc := walFileOf(pFile).flush(tls, pFile); rc != lib.SQLITE_OK {
		return rc
	}
	return (*(*func(*libc.TLS, uintptr, int64) int32)(unsafe.Pointer(&struct{ uintptr }{walBaseIO.FxTruncate})))(tls, pFile, size)
}

func walFileSize(tls *libc.TLS, pFile, pSize uintptr) int32 {
	if rc := walFileOf(pFile).flush(tls, pFile); rc != lib.SQLITE_OK {
		return rc
	}
	return (*(*func(*libc.TLS, uintptr, uintptr) int32)(unsafe.Pointer(&struct{ uintptr }{walBaseIO.FxFileSize})))(tls, pFile, pSize)
}

func walFileControl(tls *libc.TLS, pFile uintptr, op int32, pArg uintptr) int32 {
	if rc := walFileOf(pFile).flush(tls, pFile); rc != lib.SQLITE_OK {
		return rc
	}
	return (*(*func(*libc.TLS, uintptr, int32, uintptr) int32)(unsafe.Pointer(&struct{ uintptr }{walBaseIO.FxFileControl})))(tls, pFile, op, pArg)
}

func walClose(tls *libc.TLS, pFile uintptr) int32 {
	rc := walFileOf(pFile).flush(tls, pFile)
	walFilesMu.Lock()
	delete(walFiles, pFile)
	walFilesMu.Unlock()
	if crc := (*(*func(*libc.TLS, uintptr) int32)(unsafe.Pointer(&struct{ uintptr }{walBaseIO.FxClose})))(tls, pFile); rc == lib.SQLITE_OK {
		rc = crc
	}
	return rc
}

// cmem is the pointer to an address SQLite handed over: memory of SQLite's own allocator
// or its static tables, outside the Go heap, so the collector neither moves nor frees it.
func cmem(p uintptr) unsafe.Pointer { return unsafe.Add(unsafe.Pointer(nil), p) }
