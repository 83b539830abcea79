package netnstest

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/nubo-cloud/nubo/internal/driver/netdev/netns"
)

// RequireRoot skips t unless it runs as root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (run with -tags netns as root)")
	}
}

// Prefix returns a fresh "nbtXXXXXX-" prefix for the namespaces of one test.
func Prefix(t testing.TB) string {
	b := make([]byte, 3)
	rand.Read(b)
	return "nbt" + hex.EncodeToString(b) + "-"
}

// NewNS creates a namespace and deletes it when t ends.
func NewNS(t testing.TB, name string) {
	t.Helper()
	if err := netns.Create(name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { netns.Delete(name) })
}

// EchoServer listens on addr (TCP) inside ns until t ends. It answers the
// first line of each connection with "<peer address> <line>".
func EchoServer(t testing.TB, ns, addr string) {
	t.Helper()
	var ln net.Listener
	if err := netns.Do(ns, func() (err error) { ln, err = net.Listen("tcp", addr); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				r := bufio.NewReader(c)
				line, _ := r.ReadString('\n')
				fmt.Fprintf(c, "%s %s", c.RemoteAddr(), line)
				io.Copy(io.Discard, r)
			}()
		}
	}()
}

// Talk connects from ns to addr (optionally from local, an IP), sends a
// line padded to payload bytes and returns the answer without its newline.
func Talk(ns, addr, local string, payload int) (string, error) {
	d := net.Dialer{Timeout: time.Second}
	if local != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(local)}
	}
	var c net.Conn
	if err := netns.Do(ns, func() (err error) { c, err = d.Dial("tcp", addr); return err }); err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := fmt.Fprintf(c, "hello%s\n", strings.Repeat("x", payload)); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

// Exec runs a command inside ns and returns its combined output.
func Exec(ctx context.Context, ns string, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := netns.Do(ns, cmd.Start); err != nil {
		return nil, err
	}
	err := cmd.Wait()
	return []byte(out.String()), err
}
