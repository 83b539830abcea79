//go:build e2e

package e2e

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
)

// BenchmarkVolumeAttach measures live attach on a running guest: the API
// attach call (os-volume_attachments) → the guest's device watcher lists
// the disk (FZ-BLK with the volume's serial), and → the volume is in-use;
// then detach → the disk gone from the guest. The console is polled
// through the API every 50 ms (the guest's watcher looks every 300 ms).
//
//	go test -tags e2e -run '^$' -bench VolumeAttach -benchtime 5x ./test/e2e/
func BenchmarkVolumeAttach(b *testing.B) {
	w := newWorld(b)
	w.waitHypervisor(w.addHost("h1", netip.MustParseAddr("192.0.2.1"), true))
	bs := w.blockStorage()
	id := w.boot(serverOpts{name: "attach-bench"})
	w.waitStatus(id, "ACTIVE", 3*time.Minute)
	w.waitConsole(id, "FZ-BLK [", 3*time.Minute)

	visible := func(vol string, want bool, timeout time.Duration) {
		deadline := time.Now().Add(timeout)
		for strings.Contains(lastBLK(w.console(id)), serial(vol)) != want {
			if time.Now().After(deadline) {
				b.Fatalf("volume %s in the guest's disks: want %v after %v; last FZ-BLK: %s", vol, want, timeout, lastBLK(w.console(id)))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	var seen, inUse, gone []time.Duration
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		vol := w.createVolume(bs, volumes.CreateOpts{Name: fmt.Sprintf("attach-%d", i), Size: 1})
		b.StartTimer()
		start := time.Now()
		w.attach(id, vol)
		visible(vol, true, time.Minute)
		seen = append(seen, time.Since(start))
		w.waitVolume(bs, vol, "in-use", time.Minute)
		inUse = append(inUse, time.Since(start))
		b.StopTimer()

		start = time.Now()
		w.detach(id, vol)
		visible(vol, false, time.Minute)
		gone = append(gone, time.Since(start))
		w.waitVolume(bs, vol, "available", time.Minute)
		b.StartTimer()
	}
	med := func(d []time.Duration) float64 {
		s := append([]time.Duration(nil), d...)
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		return s[len(s)/2].Seconds()
	}
	b.ReportMetric(med(seen), "attach→in-guest-s")
	b.ReportMetric(med(inUse), "attach→in-use-s")
	b.ReportMetric(med(gone), "detach→gone-s")
	b.ReportMetric(0, "ns/op")
	b.Logf("attach → in the guest %v; attach → in-use %v; detach → gone from the guest %v", seen, inUse, gone)
}
