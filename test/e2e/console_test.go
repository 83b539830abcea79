//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/binary"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/remoteconsoles"
)

// checkVNCConsole opens server id's noVNC console the way noVNC does: the
// console URL from remote-consoles, then a WebSocket to the path it names,
// through which the guest's QEMU VNC server goes through the RFB 3.8
// handshake (security None) and describes its framebuffer. A token that
// is not the console's opens nothing.
func checkVNCConsole(t *testing.T, w *world, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rc, err := remoteconsoles.Create(ctx, w.compute, id, remoteconsoles.CreateOpts{Protocol: remoteconsoles.ConsoleProtocolVNC, Type: remoteconsoles.ConsoleTypeNoVNC}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(rc.URL)
	if err != nil || u.Query().Get("path") == "" {
		t.Fatalf("console URL %q: %v", rc.URL, err)
	}
	wsURL := "ws://" + u.Host + "/" + u.Query().Get("path")

	bad := strings.Replace(wsURL, "token=", "token=bad", 1)
	if c, resp, err := websocket.Dial(ctx, bad, &websocket.DialOptions{Subprotocols: []string{"binary"}}); err == nil {
		c.CloseNow()
		t.Fatal("a bad token opened a console")
	} else if resp == nil || resp.StatusCode != 403 {
		t.Fatalf("bad token: %v %v", resp, err)
	}

	c, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{Subprotocols: []string{"binary"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	conn := websocket.NetConn(ctx, c, websocket.MessageBinary)
	read := func(n int) []byte {
		t.Helper()
		b := make([]byte, n)
		for got := 0; got < n; {
			k, err := conn.Read(b[got:])
			if err != nil {
				t.Fatalf("read %d bytes: %v (got %q)", n, err, b[:got])
			}
			got += k
		}
		return b
	}
	write := func(b []byte) {
		t.Helper()
		if _, err := conn.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if v := read(12); !bytes.HasPrefix(v, []byte("RFB 003.")) {
		t.Fatalf("server version %q", v)
	}
	write([]byte("RFB 003.008\n"))
	n := read(1)[0]
	types := read(int(n))
	if !bytes.Contains(types, []byte{1}) {
		t.Fatalf("security types %v lack None", types)
	}
	write([]byte{1})
	if res := read(4); !bytes.Equal(res, []byte{0, 0, 0, 0}) {
		t.Fatalf("security result %v", res)
	}
	write([]byte{1}) // shared
	init := read(24)
	width, height := binary.BigEndian.Uint16(init[0:2]), binary.BigEndian.Uint16(init[2:4])
	name := read(int(binary.BigEndian.Uint32(init[20:24])))
	if width == 0 || height == 0 {
		t.Fatalf("framebuffer %dx%d", width, height)
	}
	t.Logf("VNC console of %s: %dx%d %q", id, width, height, name)
}
