//go:build cli

// Package cli drives Debian's openstack command-line client against a real
// `nubo up`: the binary users run, configured by `nubo admin openrc`, checked
// through the client they use. It needs the `openstack` command
// (python3-openstackclient; scripts/install-deps.sh installs it).
//
//	go test -tags cli -v ./test/cli/          # builds ./cmd/nubo
//	NUBO_BIN=bin/nubo go test -tags cli ./test/cli/
package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	readyTimeout   = 30 * time.Second
	commandTimeout = 2 * time.Minute
)

func TestOpenStackCLI(t *testing.T) {
	osc, err := exec.LookPath("openstack")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("the openstack CLI is not installed; run scripts/install-deps.sh (python3-openstackclient)")
		}
		t.Skip("the openstack CLI is not installed; scripts/install-deps.sh installs it")
	}
	cloud := startNubo(t, nuboBinary(t))
	home := t.TempDir() // no clouds.yaml or cache from the real $HOME
	base := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "LANG=C.UTF-8"}
	admin := &client{bin: osc, env: append(append([]string{}, base...), cloud.openrc...)}

	sfx := randomHex(t, 4)
	var (
		adminProjectID, adminUserID string
		projectName                 = "cli-project-" + sfx
		projectID                   string
		userName                    = "cli-user-" + sfx
		userPassword                = "pw-" + randomHex(t, 8)
		userID                      string
		groupName                   = "cli-group-" + sfx
		groupID                     string
		roleName                    = "cli-role-" + sfx
		roleID                      string
		appCredName                 = "cli-appcred-" + sfx
		appCredID, appCredSecret    string
	)
	appCredEnv := func() []string {
		return append(append([]string{}, base...),
			"OS_AUTH_URL="+cloud.authURL,
			"OS_IDENTITY_API_VERSION=3",
			"OS_REGION_NAME="+cloud.get("OS_REGION_NAME"),
			"OS_AUTH_TYPE=v3applicationcredential",
			"OS_APPLICATION_CREDENTIAL_ID="+appCredID,
			"OS_APPLICATION_CREDENTIAL_SECRET="+appCredSecret)
	}

	t.Run("token issue returns a token scoped to the admin project", func(t *testing.T) {
		var tok object
		admin.json(t, &tok, "token", "issue")
		for _, k := range []string{"id", "expires", "project_id", "user_id"} {
			if tok.str(k) == "" {
				t.Errorf("token issue: %q is empty in %v", k, tok)
			}
		}
		var proj object
		admin.json(t, &proj, "project", "show", cloud.get("OS_PROJECT_NAME"))
		if proj.str("id") != tok.str("project_id") {
			t.Errorf("token project_id = %q, project show %s id = %q", tok.str("project_id"), cloud.get("OS_PROJECT_NAME"), proj.str("id"))
		}
		adminProjectID, adminUserID = tok.str("project_id"), tok.str("user_id")
	})

	t.Run("catalog list has an identity endpoint at nubo's address", func(t *testing.T) {
		var rows []object
		admin.json(t, &rows, "catalog", "list")
		u, err := url.Parse(cloud.authURL)
		if err != nil {
			t.Fatalf("OS_AUTH_URL %q: %v", cloud.authURL, err)
		}
		for _, r := range rows {
			if r.str("Type") != "identity" {
				continue
			}
			// Endpoints is a formatted string or a list of endpoint objects, depending on the client version.
			eps, _ := json.Marshal(r["Endpoints"])
			if !strings.Contains(string(eps), u.Host) {
				t.Errorf("identity endpoints %s do not point at %s", eps, u.Host)
			}
			return
		}
		t.Errorf("no service of type identity in the catalog: %v", rows)
	})

	t.Run("project create, list and show agree on the new project", func(t *testing.T) {
		var p object
		admin.json(t, &p, "project", "create", "--domain", "Default", "--description", "made by test/cli", projectName)
		projectID = p.str("id")
		if projectID == "" || p.str("name") != projectName || p["enabled"] != true ||
			p.str("domain_id") != "default" || p.str("description") != "made by test/cli" {
			t.Errorf("project create returned %v; want name %s, enabled, domain_id default, the description", p, projectName)
		}
		var rows []object
		admin.json(t, &rows, "project", "list")
		if r := findRow(rows, "ID", projectID); r == nil || r.str("Name") != projectName {
			t.Errorf("project list has no %s (%s): %v", projectName, projectID, rows)
		}
		var shown object
		admin.json(t, &shown, "project", "show", projectName)
		if shown.str("id") != projectID || shown.str("name") != projectName {
			t.Errorf("project show %s = %v, want id %s", projectName, shown, projectID)
		}
	})

	t.Run("user create makes an enabled user in the Default domain", func(t *testing.T) {
		var u object
		admin.json(t, &u, "user", "create", "--domain", "Default", "--password", userPassword,
			"--email", userName+"@example.org", userName)
		userID = u.str("id")
		if userID == "" || u.str("name") != userName || u["enabled"] != true || u.str("domain_id") != "default" {
			t.Errorf("user create returned %v; want name %s, enabled, domain_id default", u, userName)
		}
		if _, ok := u["password"]; ok {
			t.Errorf("user create echoed the password: %v", u)
		}
		var rows []object
		admin.json(t, &rows, "user", "list")
		if r := findRow(rows, "ID", userID); r == nil || r.str("Name") != userName {
			t.Errorf("user list has no %s (%s): %v", userName, userID, rows)
		}
		var shown object
		admin.json(t, &shown, "user", "show", userID)
		if shown.str("name") != userName || shown.str("email") != userName+"@example.org" {
			t.Errorf("user show %s = %v, want name %s and its email", userID, shown, userName)
		}
	})

	t.Run("group create, add user and list show the member", func(t *testing.T) {
		need(t, userID)
		var g object
		admin.json(t, &g, "group", "create", "--domain", "Default", "--description", "made by test/cli", groupName)
		groupID = g.str("id")
		if groupID == "" || g.str("name") != groupName || g.str("domain_id") != "default" {
			t.Errorf("group create returned %v; want name %s in domain default", g, groupName)
		}
		var rows []object
		admin.json(t, &rows, "group", "list")
		if r := findRow(rows, "ID", groupID); r == nil || r.str("Name") != groupName {
			t.Errorf("group list has no %s (%s): %v", groupName, groupID, rows)
		}
		var shown object
		admin.json(t, &shown, "group", "show", groupName)
		if shown.str("id") != groupID || shown.str("description") != "made by test/cli" {
			t.Errorf("group show %s = %v, want id %s and the description", groupName, shown, groupID)
		}
		admin.ok(t, "group", "add", "user", groupID, userID)
		var members []object
		admin.json(t, &members, "user", "list", "--group", groupID)
		if r := findRow(members, "ID", userID); r == nil || r.str("Name") != userName {
			t.Errorf("user list --group %s = %v, want %s", groupName, members, userName)
		}
		admin.ok(t, "group", "contains", "user", groupID, userID)
	})

	t.Run("role create, list and show agree on the new role", func(t *testing.T) {
		var r object
		admin.json(t, &r, "role", "create", roleName)
		roleID = r.str("id")
		if roleID == "" || r.str("name") != roleName {
			t.Errorf("role create returned %v; want name %s", r, roleName)
		}
		var rows []object
		admin.json(t, &rows, "role", "list")
		if row := findRow(rows, "ID", roleID); row == nil || row.str("Name") != roleName {
			t.Errorf("role list has no %s (%s): %v", roleName, roleID, rows)
		}
		var shown object
		admin.json(t, &shown, "role", "show", roleName)
		if shown.str("id") != roleID {
			t.Errorf("role show %s = %v, want id %s", roleName, shown, roleID)
		}
	})

	t.Run("role add grants the role and the assignment lists it by name", func(t *testing.T) {
		need(t, userID, projectID, roleID)
		admin.ok(t, "role", "add", "--user", userName, "--project", projectName, roleName)
		var rows []object
		admin.json(t, &rows, "role", "assignment", "list", "--names", "--user", userName)
		found := false
		for _, r := range rows {
			if r.str("Role") == roleName {
				found = true
				if !strings.HasPrefix(r.str("Project"), projectName) || !strings.HasPrefix(r.str("User"), userName) {
					t.Errorf("assignment %v: want project %s and user %s (as name@domain)", r, projectName, userName)
				}
			}
		}
		if !found {
			t.Fatalf("role assignment list --names --user %s has no role %s: %v", userName, roleName, rows)
		}
		// the assignment is what lets the user get a token for the project
		user := &client{bin: admin.bin, env: append(append([]string{}, base...),
			"OS_AUTH_URL="+cloud.authURL, "OS_IDENTITY_API_VERSION=3", "OS_REGION_NAME="+cloud.get("OS_REGION_NAME"),
			"OS_USERNAME="+userName, "OS_PASSWORD="+userPassword, "OS_USER_DOMAIN_NAME=Default",
			"OS_PROJECT_NAME="+projectName, "OS_PROJECT_DOMAIN_NAME=Default")}
		var tok object
		user.json(t, &tok, "token", "issue")
		if tok.str("user_id") != userID || tok.str("project_id") != projectID {
			t.Errorf("token issue as %s = %v, want user_id %s and project_id %s", userName, tok, userID, projectID)
		}
	})

	t.Run("application credential create returns a secret that authenticates", func(t *testing.T) {
		need(t, adminProjectID, adminUserID)
		var ac object
		admin.json(t, &ac, "application", "credential", "create", "--description", "made by test/cli", appCredName)
		appCredID, appCredSecret = ac.str("id"), ac.str("secret")
		if appCredID == "" || appCredSecret == "" || ac.str("name") != appCredName || ac.str("project_id") != adminProjectID {
			t.Fatalf("application credential create returned %v; want an id, a secret, name %s and project_id %s",
				ac, appCredName, adminProjectID)
		}
		withAppCred := &client{bin: admin.bin, env: appCredEnv()}
		var tok object
		withAppCred.json(t, &tok, "token", "issue")
		if tok.str("id") == "" || tok.str("user_id") != adminUserID || tok.str("project_id") != adminProjectID {
			t.Errorf("token issue with the application credential = %v, want user_id %s and project_id %s",
				tok, adminUserID, adminProjectID)
		}
	})

	t.Run("application credential delete revokes it", func(t *testing.T) {
		need(t, appCredID)
		admin.ok(t, "application", "credential", "delete", appCredName)
		withAppCred := &client{bin: admin.bin, env: appCredEnv()}
		if out, err := withAppCred.run(t, "token", "issue", "-f", "json"); err == nil {
			t.Errorf("token issue with a deleted application credential succeeded: %s", out)
		}
	})

	t.Run("delete removes the role, group, user and project", func(t *testing.T) {
		need(t, roleID, groupID, userID, projectID)
		admin.ok(t, "role", "delete", roleID)
		admin.ok(t, "group", "delete", groupID)
		admin.ok(t, "user", "delete", userID)
		admin.ok(t, "project", "delete", projectID)
		for _, gone := range []struct{ kind, id string }{
			{"role", roleID}, {"group", groupID}, {"user", userID}, {"project", projectID},
		} {
			out, err := admin.run(t, gone.kind, "show", gone.id, "-f", "json")
			if err == nil {
				t.Errorf("%s show %s after delete succeeded: %s", gone.kind, gone.id, out)
				continue
			}
			// a clean "not found", not a server error
			msg := err.Error()
			if !strings.Contains(msg, "No "+gone.kind+" with a name or ID") && !strings.Contains(msg, "HTTP 404") {
				t.Errorf("%s show %s after delete: want a not-found error, got: %v", gone.kind, gone.id, err)
			}
		}
		var rows []object
		admin.json(t, &rows, "project", "list")
		if findRow(rows, "ID", projectID) != nil {
			t.Errorf("project list still has deleted project %s: %v", projectID, rows)
		}
	})
}

// client runs the openstack CLI with a fixed environment.
type client struct {
	bin string
	env []string
}

// run runs `openstack args...`; the error carries the command, its stdout and stderr.
func (c *client) run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Env = c.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	t.Logf("openstack %s (%.1fs)", strings.Join(args, " "), time.Since(start).Seconds())
	if err != nil {
		return stdout.String(), fmt.Errorf("openstack %s: %v\nstdout: %s\nstderr: %s",
			strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

// ok runs `openstack args...` and fails the test if it fails.
func (c *client) ok(t *testing.T, args ...string) string {
	t.Helper()
	out, err := c.run(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// json runs `openstack args... -f json` and decodes its output into v.
func (c *client) json(t *testing.T, v any, args ...string) {
	t.Helper()
	out := c.ok(t, append(args, "-f", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("openstack %s -f json: %v; output:\n%s", strings.Join(args, " "), err, out)
	}
}

// object is one `-f json` record: a show/create result or a list row.
type object map[string]any

func (o object) str(key string) string {
	s, _ := o[key].(string)
	return s
}

func findRow(rows []object, key, value string) object {
	for _, r := range rows {
		if r.str(key) == value {
			return r
		}
	}
	return nil
}

// need skips a subtest whose inputs an earlier, failed subtest should have made.
func need(t *testing.T, values ...string) {
	t.Helper()
	for _, v := range values {
		if v == "" {
			t.Skip("skipped: an earlier subtest did not create what this one needs")
		}
	}
}

// cloud is a running `nubo up`.
type cloud struct {
	authURL string
	openrc  []string // OS_*=value from `nubo admin openrc`
}

func (c *cloud) get(key string) string {
	for _, kv := range c.openrc {
		if k, v, _ := strings.Cut(kv, "="); k == key {
			return v
		}
	}
	return ""
}

// nuboBinary returns $NUBO_BIN, or builds ./cmd/nubo into a temp dir.
func nuboBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("NUBO_BIN"); p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(abs); err != nil {
			t.Fatalf("NUBO_BIN: %v", err)
		}
		return abs
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		goCmd = "/usr/local/go/bin/go"
	}
	bin := filepath.Join(t.TempDir(), "nubo")
	build := exec.Command(goCmd, "build", "-o", bin, "./cmd/nubo")
	build.Dir = filepath.Join("..", "..") // the module root; go test runs in test/cli
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/nubo: %v\n%s", err, out)
	}
	return bin
}

// startNubo runs `nubo up` on a fresh data dir and a free loopback port, waits until
// Identity answers, and stops it with SIGTERM when the test ends.
func startNubo(t *testing.T, bin string) *cloud {
	t.Helper()
	dataDir := t.TempDir()
	logPath := filepath.Join(t.TempDir(), "nubo.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	addr := freeLoopbackAddr(t)
	// The default bcrypt cost on purpose: this test is about what users run, and it
	// authenticates only a few dozen times.
	cmd := exec.Command(bin, "up", "--data-dir", dataDir, "--listen", addr, "--admin-password", "admin-"+randomHex(t, 12), "--compute-driver", "fake")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("nubo up: %v", err)
	}
	done := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		logFile.Close()
		close(done)
	}()
	showLog := func() {
		b, _ := os.ReadFile(logPath)
		if len(b) > 16000 {
			b = b[len(b)-16000:]
		}
		t.Logf("nubo log (%s):\n%s", logPath, b)
	}
	t.Cleanup(func() {
		select {
		case <-done:
			t.Errorf("nubo exited before the test ended: %v", waitErr)
			showLog()
			return
		default:
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
			if waitErr != nil {
				t.Errorf("nubo did not shut down cleanly on SIGTERM: %v", waitErr)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("nubo still running 10s after SIGTERM; killing it")
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			showLog()
		}
	})

	readyURL := "http://" + addr + "/identity/v3"
	hc := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(readyTimeout)
	for {
		select {
		case <-done:
			t.Fatalf("nubo up exited before answering %s: %v", readyURL, waitErr)
		default:
		}
		resp, err := hc.Get(readyURL)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("nubo did not answer 200 on %s within %v (last: %v)", readyURL, readyTimeout, statusOrErr(resp, err))
		}
		time.Sleep(100 * time.Millisecond)
	}

	out, err := exec.Command(bin, "admin", "openrc", "--data-dir", dataDir).Output()
	if err != nil {
		t.Fatalf("nubo admin openrc: %v", errorWithStderr(err))
	}
	openrc := parseOpenrc(t, string(out))
	c := &cloud{openrc: openrc}
	c.authURL = c.get("OS_AUTH_URL")
	for _, k := range []string{"OS_AUTH_URL", "OS_USERNAME", "OS_PASSWORD", "OS_PROJECT_NAME"} {
		if c.get(k) == "" {
			t.Fatalf("nubo admin openrc did not set %s; it printed:\n%s", k, redact(string(out)))
		}
	}
	t.Logf("nubo up on %s (OS_AUTH_URL=%s)", addr, c.authURL)
	return c
}

// parseOpenrc evaluates the shell text of `nubo admin openrc` with sh, in an empty
// environment, and returns the OS_* variables it sets; sh handles any quoting.
func parseOpenrc(t *testing.T, text string) []string {
	t.Helper()
	sh := exec.Command("sh", "-c", `eval "$1" >/dev/null && exec env -0`, "sh", text)
	sh.Env = []string{"PATH=/usr/bin:/bin"}
	out, err := sh.Output()
	if err != nil {
		t.Fatalf("evaluating nubo admin openrc output: %v\n%s", errorWithStderr(err), redact(text))
	}
	var vars []string
	for _, kv := range strings.Split(string(out), "\x00") {
		if strings.HasPrefix(kv, "OS_") {
			vars = append(vars, kv)
		}
	}
	return vars
}

func redact(openrc string) string {
	lines := strings.Split(openrc, "\n")
	for i, l := range lines {
		if j := strings.Index(l, "PASSWORD="); j >= 0 {
			lines[i] = l[:j] + "PASSWORD=***"
		}
	}
	return strings.Join(lines, "\n")
}

func errorWithStderr(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return fmt.Errorf("%w: %s", err, ee.Stderr)
	}
	return err
}

func statusOrErr(resp *http.Response, err error) string {
	if err != nil {
		return err.Error()
	}
	return resp.Status
}

func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
