package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/helpdeskd/helpdeskd/config"
	"github.com/helpdeskd/helpdeskd/core"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

const usage = `helpdeskd — a support desk in one daemon

Usage:
  helpdeskd serve   [-config FILE]    run the daemon (applies migrations first)
  helpdeskd migrate [-config FILE]    apply schema migrations and exit
  helpdeskd admin account put  --id N --name NAME
  helpdeskd admin user put     --id N --email E --name NAME [--role customer|staff|admin] --account N [--account M] [--default-account N] [--language es]
  helpdeskd admin property put --id N --account N --name NAME
  helpdeskd admin department put --id N --name NAME
  helpdeskd admin apikey create --user N      prints a new key, alone on its line
  helpdeskd admin apikey delete --user N --key KEYID
  helpdeskd admin user export --id N -o FILE|-  everything about a user: a zip of export.json and their files
  helpdeskd admin user erase  --id N --yes    erase a user's personal data (docs/privacy.md); no undo
  helpdeskd admin mail reprocess              move the failed mailbox's mails back to be processed again
  helpdeskd admin backup FILE|DIR|-           a consistent copy of the database and attachments (tar),
                                              taken while the daemon runs
  helpdeskd admin check                       PRAGMA integrity_check and every attachment re-hashed
  helpdeskd admin store copy --to postgres:DSN|sqlite:PATH   copy the whole desk into an empty other store and verify it
  helpdeskd health  [-config FILE] [-ready]  exit 0 when the configured daemon answers /healthz
                                              (or /readyz) with 200: a container health check
  helpdeskd version                           version, commit and Go version of this build

Every command takes -config FILE; without it the built-in defaults apply (database under
./data, HTTP on 127.0.0.1:8080, email and Telegram off). HELPDESKD_* environment variables
override the file.
`

// errUsage marks a command-line mistake (exit code 2).
var errUsage = errors.New("usage")

// Run runs one command and returns the process exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer, env []string) int {
	err := dispatch(ctx, args, stdout, stderr, env)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.Is(err, errUsage):
		fmt.Fprintln(stderr, "helpdeskd:", strings.TrimPrefix(err.Error(), "usage: "))
		fmt.Fprint(stderr, "\n"+usage)
		return exitUsage
	default:
		fmt.Fprintln(stderr, "helpdeskd:", err)
		return exitError
	}
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer, env []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: no command given", errUsage)
	}
	switch args[0] {
	case "serve":
		cfg, err := parseConfig("serve", args[1:], stderr, env, nil)
		if err != nil {
			return err
		}
		return serve(ctx, cfg, stderr)
	case "migrate":
		cfg, err := parseConfig("migrate", args[1:], stderr, withoutChannels(env), nil)
		if err != nil {
			return err
		}
		st, err := openStore(ctx, cfg.Database)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "database %s is up to date\n", st.where)
		return st.db.Close()
	case "admin":
		return admin(ctx, args[1:], stdout, stderr, env)
	case "health":
		return health(ctx, args[1:], stdout, stderr, withoutChannels(env))
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, "helpdeskd", Version())
		return nil
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return fmt.Errorf("%w: unknown command %q", errUsage, args[0])
}

// parseConfig parses -config and the command's own flags (set up by define), then loads
// the configuration.
func parseConfig(name string, args []string, stderr io.Writer, env []string, define func(*flag.FlagSet)) (config.Config, error) {
	cfg, rest, err := parseConfigArgs(name, args, stderr, env, define)
	if len(rest) > 0 {
		return config.Config{}, fmt.Errorf("%w: %s: unexpected argument %q", errUsage, name, rest[0])
	}
	return cfg, err
}

// parseConfigArgs is parseConfig for a command that takes arguments besides its flags:
// flags may come before and after them (admin backup FILE -config X), and it returns them.
func parseConfigArgs(name string, args []string, stderr io.Writer, env []string, define func(*flag.FlagSet)) (config.Config, []string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "configuration file (TOML)")
	if define != nil {
		define(fs)
	}
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return config.Config{}, nil, err
			}
			return config.Config{}, nil, fmt.Errorf("%w: %s: %v", errUsage, name, err)
		}
		if fs.NArg() == 0 {
			break
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
	cfg, err := config.Load(*path, env)
	return cfg, rest, err
}

// withoutChannels turns email and Telegram off for a command that uses neither (everything
// but serve and admin mail reprocess): it then reads none of their secrets, which under
// systemd only the service itself is given (LoadCredential=), so that an operator can run it
// beside the service as its user.
func withoutChannels(env []string) []string {
	return append(env[:len(env):len(env)], config.EnvPrefix+"EMAIL_ENABLED=false", config.EnvPrefix+"TELEGRAM_ENABLED=false")
}

// int64List is a repeatable integer flag (--account 1 --account 2).
type int64List []int64

func (l *int64List) String() string { return fmt.Sprint([]int64(*l)) }
func (l *int64List) Set(s string) error {
	for _, part := range strings.Split(s, ",") {
		n, err := strconv.ParseInt(strings.TrimSpace(part), 10, 64)
		if err != nil {
			return fmt.Errorf("not an integer: %q", part)
		}
		*l = append(*l, n)
	}
	return nil
}

func admin(ctx context.Context, args []string, stdout, stderr io.Writer, env []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "backup":
			return adminBackup(ctx, args[1:], stdout, stderr, withoutChannels(env))
		case "check":
			return adminCheck(ctx, args[1:], stdout, stderr, withoutChannels(env))
		}
	}
	if len(args) < 2 {
		return fmt.Errorf("%w: admin needs a subject and an action, e.g. admin account put", errUsage)
	}
	what := args[0] + " " + args[1]
	rest := args[2:]
	var (
		id, account, user, key, defaultAccount int64
		name, email, role, language            string
		accounts                               int64List
	)
	var define func(fs *flag.FlagSet)
	switch what {
	case "account put":
		define = func(fs *flag.FlagSet) {
			fs.Int64Var(&id, "id", 0, "the panel's account ID")
			fs.StringVar(&name, "name", "", "account name")
		}
	case "user put":
		define = func(fs *flag.FlagSet) {
			fs.Int64Var(&id, "id", 0, "the panel's user ID")
			fs.StringVar(&email, "email", "", "email address")
			fs.StringVar(&name, "name", "", "display name")
			fs.StringVar(&role, "role", "customer", "customer, staff or admin")
			fs.Var(&accounts, "account", "an account the user belongs to (repeatable)")
			fs.Int64Var(&defaultAccount, "default-account", 0, "account of tickets opened by mail or chat")
			fs.StringVar(&language, "language", "", "language the user is written to in (BCP 47, e.g. es); empty: the desk's default")
		}
	case "property put":
		define = func(fs *flag.FlagSet) {
			fs.Int64Var(&id, "id", 0, "the panel's property ID")
			fs.Int64Var(&account, "account", 0, "the account it belongs to")
			fs.StringVar(&name, "name", "", "property name, e.g. example.com")
		}
	case "department put":
		define = func(fs *flag.FlagSet) {
			fs.Int64Var(&id, "id", 0, "the panel's department ID")
			fs.StringVar(&name, "name", "", "department name, e.g. tech-support")
		}
	case "apikey create":
		define = func(fs *flag.FlagSet) { fs.Int64Var(&user, "user", 0, "the user the key acts as") }
	case "mail reprocess":
		define = nil
	case "store copy":
		return adminStoreCopy(ctx, rest, stdout, stderr, withoutChannels(env))
	case "user export", "user erase":
		return adminUserGDPR(ctx, what, rest, stdout, stderr, withoutChannels(env))
	case "apikey delete":
		define = func(fs *flag.FlagSet) {
			fs.Int64Var(&user, "user", 0, "the key's user")
			fs.Int64Var(&key, "key", 0, "the key's ID")
		}
	default:
		return fmt.Errorf("%w: unknown admin command %q", errUsage, what)
	}
	if what != "mail reprocess" {
		env = withoutChannels(env)
	}
	cfg, err := parseConfig("admin "+what, rest, stderr, env, define)
	if err != nil {
		return err
	}
	if what == "mail reprocess" {
		return reprocessMail(ctx, cfg, stdout, stderr)
	}
	st, err := openStore(ctx, cfg.Database)
	if err != nil {
		return err
	}
	db := st.db
	defer db.Close()
	svc := core.NewService(db, db.Blobs(), nil, core.Options{})
	sys := core.System()
	switch what {
	case "account put":
		a, err := svc.PutAccount(ctx, sys, core.Account{ID: id, Name: name})
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "account %d %q\n", a.ID, a.Name)
	case "user put":
		u, err := svc.PutUser(ctx, sys, core.User{ID: id, Email: email, Name: name, Role: core.Role(role), AccountIDs: accounts, DefaultAccountID: defaultAccount, Language: language})
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "user %d %s (%s) accounts %v", u.ID, u.Email, u.Role, u.AccountIDs)
		if u.Language != "" {
			fmt.Fprintf(stdout, " language %s", u.Language)
		}
		fmt.Fprintln(stdout)
	case "property put":
		p, err := svc.PutProperty(ctx, sys, core.Property{ID: id, AccountID: account, Name: name})
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "property %d %q of account %d\n", p.ID, p.Name, p.AccountID)
	case "department put":
		d, err := svc.PutDepartment(ctx, sys, core.Department{ID: id, Name: name})
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "department %d %q\n", d.ID, d.Name)
	case "apikey create":
		_, k, err := svc.CreateAPIKey(ctx, sys, user)
		if err != nil {
			return describe(err)
		}
		fmt.Fprintln(stdout, k)
	case "apikey delete":
		if err := svc.DeleteAPIKey(ctx, sys, user, key); err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "key %d revoked\n", key)
	}
	return nil
}

// describe turns a domain error into a line naming the bad fields.
func describe(err error) error {
	if fields := core.ErrorFields(err); len(fields) > 0 {
		lines := make([]string, len(fields))
		for i, f := range fields {
			lines[i] = f.String()
		}
		return errors.New(strings.Join(lines, "; "))
	}
	if core.ErrorCode(err) != core.EINTERNAL {
		return errors.New(core.ErrorMessage(err))
	}
	return err
}
