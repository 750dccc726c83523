package testenv

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresBinEnv names the environment variable that points at the
// directory holding PostgreSQL's initdb and postgres, when they are not in
// Debian's /usr/lib/postgresql/15/bin.
const PostgresBinEnv = "YUJING_POSTGRES_BIN"

const (
	postgresStartTimeout = 60 * time.Second // crash recovery included
	initdbTimeout        = 2 * time.Minute
	// postgresUser and postgresDatabase are the role and database
	// StartPostgres creates for the code under test: an ordinary role (no
	// superuser) that owns its database, as in production.
	postgresUser     = "yujing"
	postgresDatabase = "yujing"
	postgresSuper    = "postgres"
	// templateFormat names how the cached template is made; change it
	// when initdbArgs change, so that old templates are not reused.
	templateFormat = "pg-template-v1"
)

// initdbArgs make the template cluster: UTF-8, an ICU collation (en-US, as
// a production server set up with en_US.UTF-8 would sort: not byte
// order, so that a query relying on SQLite's binary order shows up in
// tests), passwords checked with SCRAM on TCP (the superuser's from
// pwfile), and no fsync while initdb writes (the template is copied, and
// a copy that an operating-system crash cut short is not used: see
// postgresTemplate).
func initdbArgs(data, pwfile string) []string {
	return []string{"-D", data, "-U", postgresSuper, "--pwfile=" + pwfile,
		"--auth-local=trust", "--auth-host=scram-sha-256",
		"--encoding=UTF8", "--locale=C.UTF-8", "--locale-provider=icu", "--icu-locale=en-US",
		"--no-sync", "--no-instructions"}
}

// Postgres is a PostgreSQL server listening on 127.0.0.1, with its data
// directory in the test's temporary directory.
//
// The server runs with PostgreSQL's production defaults for durability:
// fsync, synchronous_commit and full_page_writes on. A test that kills
// the server therefore sees what a production crash would leave, and the
// cost of a commit measured here (a WAL flush) is the cost yujing pays in
// production. Only listening (loopback, no Unix socket) and logging (to
// the test's output) differ.
type Postgres struct {
	// URL is the database Database for role User with its password:
	// postgres://yujing:…@127.0.0.1:port/yujing?sslmode=disable.
	URL string
	// SuperuserURL is the same database for the superuser "postgres", for
	// tests that must act as an administrator (pg_terminate_backend, …).
	SuperuserURL string
	// Addr is host:port, e.g. "127.0.0.1:45432".
	Addr string
	// User and Password are the ordinary role that owns Database; the role
	// may create databases (NewDatabase).
	User, Password, Database string
	// Dir is the data directory.
	Dir string

	superPassword string
	dbs           atomic.Int64 // databases made by NewDatabase
	proc          *process
}

// StartPostgres starts a PostgreSQL server on a free loopback port with a
// fresh data directory, creates the role User (with a random password)
// and its database Database, and waits until the database accepts
// connections. The server is stopped and its data removed when the test
// ends.
//
// initdb is slow (seconds), so it runs once per machine and version: the
// data directory it makes is kept as a template in the user's cache
// directory and copied for every server. A test that needs many empty
// databases but no restarts should start one server and call NewDatabase
// for each.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	return startPostgres(t, freePorts)
}

func startPostgres(t testing.TB, pick pickPorts) *Postgres {
	t.Helper()
	bin := postgresBinDir(t)
	cred := postgresCredential(t)
	tpl, superPassword := postgresTemplate(t, bin, cred)
	base := reachableTempDir(t, cred)
	data := filepath.Join(base, "data")
	if err := copyTree(tpl, data, cred); err != nil {
		t.Fatalf("testenv: copy the postgres template: %v", err)
	}
	var pg *Postgres
	for attempt := 1; ; attempt++ {
		port := pick(t, 1)[0]
		pg = &Postgres{
			Addr:          net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
			User:          postgresUser,
			Password:      randomHex(t, 16),
			Database:      postgresDatabase,
			Dir:           data,
			superPassword: superPassword,
		}
		pg.URL = pg.urlOf(pg.User, pg.Password, pg.Database)
		pg.SuperuserURL = pg.urlOf(postgresSuper, superPassword, pg.Database)
		pg.proc = newProcess(t, "postgres", filepath.Join(bin, "postgres"),
			"-D", data,
			"-c", "listen_addresses=127.0.0.1",
			"-c", "port="+strconv.Itoa(port),
			"-c", "unix_socket_directories=",
			"-c", "log_line_prefix=%m [%p] ",
			"-c", "TimeZone=UTC")
		pg.proc.cred, pg.proc.group = cred, true
		pg.proc.env = []string{"LC_ALL=C.UTF-8", "TZ=UTC"}
		// Fast shutdown: end the sessions, checkpoint, exit. The default
		// (SIGTERM, smart) would wait for the clients' pools to close.
		pg.proc.stopSignal = syscall.SIGINT
		err := pg.proc.launch(postgresStartTimeout, pg.ready)
		if err == nil {
			break
		}
		if !errors.Is(err, errPortTaken) || attempt == portAttempts {
			t.Fatalf("testenv: %v", err)
		}
		t.Logf("testenv: %v; trying another port", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), postgresStartTimeout)
	defer cancel()
	// The password is hex, so it needs no quoting; CREATE ROLE takes no
	// parameters.
	if err := pg.superExec(ctx, "postgres",
		fmt.Sprintf("CREATE ROLE %s LOGIN CREATEDB PASSWORD '%s'", pg.User, pg.Password),
		fmt.Sprintf("CREATE DATABASE %s OWNER %s", pg.Database, pg.User),
	); err != nil {
		t.Fatalf("testenv: postgres: %v", err)
	}
	return pg
}

func (pg *Postgres) urlOf(user, password, db string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(user, password), Host: pg.Addr,
		Path: "/" + db, RawQuery: "sslmode=disable"}
	return u.String()
}

// ready succeeds once this postgres has said it accepts connections and
// the superuser can connect: a dial alone could reach whatever else took
// the port, and during crash recovery the port is open but sessions are
// refused.
func (pg *Postgres) ready(ctx context.Context) error {
	if !strings.Contains(pg.proc.sinceStart(), "database system is ready to accept connections") {
		return errors.New("postgres has not said it is ready")
	}
	conn, err := pgx.Connect(ctx, pg.urlOf(postgresSuper, pg.superPassword, "postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return conn.Ping(ctx)
}

// superExec runs statements, one by one, as the superuser in database db.
func (pg *Postgres) superExec(ctx context.Context, db string, stmts ...string) error {
	conn, err := pgx.Connect(ctx, pg.urlOf(postgresSuper, pg.superPassword, db))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", strings.Fields(s)[0]+" "+strings.Fields(s)[1], err)
		}
	}
	return nil
}

// NewDatabase creates another empty database owned by User on this server
// and returns its URL. Each call makes a new one (yujing_2, yujing_3, …),
// so subtests sharing a server do not see each other's tables.
func (pg *Postgres) NewDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("%s_%d", pg.Database, pg.dbs.Add(1)+1)
	ctx, cancel := context.WithTimeout(context.Background(), postgresStartTimeout)
	defer cancel()
	if err := pg.superExec(ctx, "postgres", fmt.Sprintf("CREATE DATABASE %s OWNER %s", name, pg.User)); err != nil {
		t.Fatalf("testenv: postgres %s: %v", pg.Addr, err)
	}
	return pg.urlOf(pg.User, pg.Password, name)
}

// Stop shuts the server down (fast shutdown: open sessions are ended, a
// checkpoint is written). Stopping twice is safe.
func (pg *Postgres) Stop() { pg.proc.stop() }

// Start starts a stopped (or killed) server again on the same port with
// the same data, and waits until it accepts connections; after Kill that
// includes crash recovery.
func (pg *Postgres) Start() {
	pg.proc.t.Helper()
	pg.proc.start(postgresStartTimeout, pg.ready)
}

// Restart is Stop then Start.
func (pg *Postgres) Restart() {
	pg.proc.t.Helper()
	pg.Stop()
	pg.Start()
}

// Kill ends the server as a crash of its machine would: SIGKILL to the
// postmaster and every backend at once, nothing flushed or checkpointed.
// It returns once all of them are gone, so Start can follow at once.
// Committed transactions survive it (their WAL was flushed at commit);
// Start replays the WAL.
func (pg *Postgres) Kill() { pg.proc.kill() }

// Log returns what the server has logged since it was last started.
func (pg *Postgres) Log() string { return pg.proc.sinceStart() }

// Running reports whether the postmaster is up.
func (pg *Postgres) Running() bool { return pg.proc.running() }

// CPU returns the CPU time (user and system) the running postmaster has
// used itself, from /proc/<pid>/stat (not its backends'); 0 when it is not
// running.
func (pg *Postgres) CPU() time.Duration { return pg.proc.cpu() }

// postgresBinDir finds the directory holding initdb and postgres: $YUJING_POSTGRES_BIN,
// Debian's /usr/lib/postgresql/15/bin, or the directory of postgres in PATH.
func postgresBinDir(t testing.TB) string {
	t.Helper()
	var dirs []string
	if d := os.Getenv(PostgresBinEnv); d != "" {
		dirs = append(dirs, d)
	}
	dirs = append(dirs, "/usr/lib/postgresql/15/bin")
	if p, err := exec.LookPath("postgres"); err == nil {
		dirs = append(dirs, filepath.Dir(p))
	}
	for _, d := range dirs {
		_, okInit := findBinary(filepath.Join(d, "initdb"))
		_, okPG := findBinary(filepath.Join(d, "postgres"))
		if okInit && okPG {
			return d
		}
	}
	missing(t, "PostgreSQL (initdb and postgres)", append(dirs[:len(dirs):len(dirs)], "$PATH"))
	return ""
}

// postgresCredential returns the user to run initdb and postgres as: nil
// (the test's own user) unless the test runs as root, which PostgreSQL
// refuses; then the "postgres" user that Debian's package creates.
func postgresCredential(t testing.TB) *syscall.Credential {
	t.Helper()
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		missing(t, `the "postgres" user (PostgreSQL refuses to run as root)`, []string{"/etc/passwd"})
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		t.Fatalf("testenv: postgres user: uid %q gid %q", u.Uid, u.Gid)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}
}

// reachableTempDir returns a new temporary directory of the test that
// cred's user can reach and write: the test's temporary directories are
// private to the test's user (0700).
func reachableTempDir(t testing.TB, cred *syscall.Credential) string {
	t.Helper()
	dir := t.TempDir()
	if cred == nil {
		return dir
	}
	// t.TempDir is <root>/<NNN>; root is 0700. Let others pass through
	// both (not list them), and give dir to cred's user.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatalf("testenv: %v", err)
		}
	}
	if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return dir
}

// postgresTemplate returns a data directory made by initdb, to be copied,
// and the superuser's password. It is cached in the user's cache directory,
// keyed by the postgres binary and templateFormat, and made (once; several
// test processes may race, the first to finish wins) when missing. When
// there is no cache directory, it is made in the test's temporary
// directory.
func postgresTemplate(t testing.TB, bin string, cred *syscall.Credential) (data, superPassword string) {
	t.Helper()
	cacheDir, key := postgresCacheKey(t, bin)
	final := filepath.Join(cacheDir, key)
	if pw, err := os.ReadFile(filepath.Join(final, "superuser-password")); err == nil {
		return filepath.Join(final, "data"), string(pw)
	}

	began := time.Now()
	work := reachableTempDir(t, cred)
	superPassword = randomHex(t, 16)
	pwfile := filepath.Join(work, "pwfile")
	if err := os.WriteFile(pwfile, []byte(superPassword+"\n"), 0o600); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	if cred != nil {
		if err := os.Chown(pwfile, int(cred.Uid), int(cred.Gid)); err != nil {
			t.Fatalf("testenv: %v", err)
		}
	}
	data = filepath.Join(work, "data")
	ctx, cancel := context.WithTimeout(context.Background(), initdbTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), initdbArgs(data, pwfile)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Credential: cred}
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8", "TZ=UTC")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("testenv: initdb: %v\n%s", err, out)
	}
	t.Logf("testenv: initdb in %v", time.Since(began).Round(time.Millisecond))
	if cacheDir == "" {
		return data, superPassword
	}

	// Keep it: copy into a new directory beside the final one, synced to
	// disk, and rename it into place, so that a reader never sees half a
	// template, and a crash of the machine cannot leave one behind.
	if err := os.MkdirAll(cacheDir, 0o700); err != nil {
		t.Logf("testenv: postgres template not cached: %v", err)
		return data, superPassword
	}
	tmp, err := os.MkdirTemp(cacheDir, "build-")
	if err == nil {
		err = errors.Join(
			copyTree(data, filepath.Join(tmp, "data"), cred),
			os.WriteFile(filepath.Join(tmp, "superuser-password"), []byte(superPassword), 0o600),
		)
	}
	if err == nil {
		// Once per machine: flush the copy before it gets its name.
		syscall.Sync()
		err = os.Rename(tmp, final)
		if err == nil {
			err = syncDir(cacheDir)
		} else if pw, rerr := os.ReadFile(filepath.Join(final, "superuser-password")); rerr == nil {
			// Another test process cached one first: use that.
			os.RemoveAll(tmp)
			return filepath.Join(final, "data"), string(pw)
		}
	}
	if err != nil {
		if tmp != "" {
			os.RemoveAll(tmp)
		}
		t.Logf("testenv: postgres template not cached: %v", err)
		return data, superPassword
	}
	return filepath.Join(final, "data"), superPassword
}

// postgresCacheKey returns the directory templates are cached in ("" when
// the user has none) and the name of the template for bin: the postgres
// binary's size and time (a new package version is a new template), the
// test's user and templateFormat.
func postgresCacheKey(t testing.TB, bin string) (dir, key string) {
	t.Helper()
	fi, err := os.Stat(filepath.Join(bin, "postgres"))
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%d\x00%d\x00%d", templateFormat, bin, fi.Size(),
		fi.ModTime().UnixNano(), os.Geteuid()))
	key = templateFormat + "-" + hex.EncodeToString(sum[:8])
	base, err := os.UserCacheDir()
	if err != nil {
		return "", key
	}
	return filepath.Join(base, "yujing", "testenv-postgres"), key
}

// copyTree copies the directory src to dst (which must not exist), with
// the modes of src, owned by cred's user when cred is set.
func copyTree(src, dst string, cred *syscall.Credential) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			if err := os.Mkdir(to, info.Mode().Perm()); err != nil {
				return err
			}
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			if err := os.Symlink(target, to); err != nil {
				return err
			}
			if cred != nil {
				return os.Lchown(to, int(cred.Uid), int(cred.Gid))
			}
			return nil
		case d.Type().IsRegular():
			if err := copyFile(path, to, info.Mode().Perm()); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: not a file or directory", path)
		}
		if cred != nil {
			return os.Chown(to, int(cred.Uid), int(cred.Gid))
		}
		return nil
	})
}

func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	return errors.Join(err, out.Close())
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(f.Sync(), f.Close())
}

// randomHex returns n random bytes in hex.
func randomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return hex.EncodeToString(b)
}
