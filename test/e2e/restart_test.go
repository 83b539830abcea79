//go:build e2e

package e2e

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/instanceactions"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"

	"github.com/nubo-cloud/nubo/internal/hostapi"
)

// TestAgentRestartMidBoot stops the agent the hard way while a server's
// QEMU is booting and before the agent reported it (scenario 6), then starts
// a new agent with new driver instances: the server becomes ACTIVE once,
// on the one QEMU process that was already running.
func TestAgentRestartMidBoot(t *testing.T) {
	w := newWorld(t)
	h := w.addHost("h1", netip.MustParseAddr("192.0.2.1"), true)
	netID, _ := w.tenantNet("e2e-net", "10.78.0.0/24")

	// The first agent "dies" while reporting the spawn: its reports never
	// reach the control plane.
	w.stopAgent(h)
	lost := &losingControl{Control: w.c.Host, reported: make(chan string, 16)}
	w.startAgentWith(h, true, lost)
	id := w.boot(serverOpts{name: "e2e-restart", networks: []servers.Network{{UUID: netID}}})
	select {
	case got := <-lost.reported:
		if got != id {
			t.Fatalf("report for %s, want %s", got, id)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("the agent never reported the spawn")
	}
	w.stopAgent(h) // the "kill -9": the loop ends wherever it is; QEMU keeps running
	sv := w.server(id)
	if sv.Status != "BUILD" {
		t.Fatalf("server %s/%q before the restart, want BUILD (the report was lost)", sv.Status, sv.TaskState)
	}
	p := qemuProcs(h, id)
	if len(p) != 1 {
		t.Fatalf("QEMU processes after the agent stopped: %v, want one", p)
	}
	pid := p[0]
	time.Sleep(2 * time.Second) // the guest boots on while no agent runs
	w.startAgent(h, true)
	start := time.Now()
	w.waitStatus(id, "ACTIVE", 2*time.Minute)
	t.Logf("restarted agent → ACTIVE: %v", time.Since(start).Round(time.Millisecond))
	w.waitConsole(id, "FZ-READY", 2*time.Minute)
	if p := qemuProcs(h, id); len(p) != 1 || p[0] != pid {
		t.Errorf("QEMU processes after the restart: %v, want the re-adopted [%d]", p, pid)
	}
	// Exactly one create action, finished once.
	pages, err := instanceactions.List(w.compute, id, nil).AllPages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	acts, err := instanceactions.ExtractInstanceActions(pages)
	if err != nil {
		t.Fatal(err)
	}
	creates := 0
	for _, a := range acts {
		if a.Action == "create" {
			creates++
		}
	}
	if creates != 1 {
		t.Errorf("%d create actions: %+v", creates, acts)
	}
	if err := servers.Delete(context.Background(), w.compute, id).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	w.waitGone(id, 2*time.Minute)
}

// losingControl loses every server report (the agent died while sending
// it) and says which server it was about.
type losingControl struct {
	hostapi.Control
	reported chan string
}

func (l *losingControl) ReportServer(ctx context.Context, hostID string, r hostapi.ServerReport) error {
	select {
	case l.reported <- r.ServerID:
	default:
	}
	<-ctx.Done() // hangs until the agent is stopped
	return ctx.Err()
}
