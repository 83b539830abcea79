package contract

import (
	"context"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/backups"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/snapshots"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"

	"github.com/nubo-cloud/nubo/internal/cloudtest"
)

// newVolumeCloud starts a cloud with its background loops (the volume
// reconciler does the backend work) and returns a Block Storage client
// for the admin.
func newVolumeCloud(t *testing.T) (*cloudtest.Cloud, *gophercloud.ServiceClient) {
	t.Helper()
	c, _ := newCloud(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return c, blockStorage(t, c.Provider(t, c.AdminOptions()))
}

func blockStorage(t *testing.T, p *gophercloud.ProviderClient) *gophercloud.ServiceClient {
	t.Helper()
	sc, err := openstack.NewBlockStorageV3(p, gophercloud.EndpointOpts{})
	if err != nil {
		t.Fatalf("block storage client: %v", err)
	}
	return sc
}

// waitFor polls get until it reports want (or, with want "deleted", 404).
func waitFor(t *testing.T, what string, get func() (string, error), want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	last := ""
	for time.Now().Before(deadline) {
		st, err := get()
		switch {
		case want == "deleted" && statusOf(err) == 404:
			return
		case err != nil:
			t.Fatalf("%s: %v", what, err)
		case st == want:
			return
		case st == "error":
			t.Fatalf("%s went to error", what)
		}
		last = st
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: still %q, want %q", what, last, want)
}

func waitVolume(t *testing.T, bs *gophercloud.ServiceClient, id, want string) {
	t.Helper()
	waitFor(t, "volume "+id, func() (string, error) {
		v, err := volumes.Get(context.Background(), bs, id).Extract()
		if err != nil {
			return "", err
		}
		return v.Status, nil
	}, want)
}

func waitSnapshot(t *testing.T, bs *gophercloud.ServiceClient, id, want string) {
	t.Helper()
	waitFor(t, "snapshot "+id, func() (string, error) {
		s, err := snapshots.Get(context.Background(), bs, id).Extract()
		if err != nil {
			return "", err
		}
		return s.Status, nil
	}, want)
}

func waitBackup(t *testing.T, bs *gophercloud.ServiceClient, id, want string) {
	t.Helper()
	waitFor(t, "backup "+id, func() (string, error) {
		b, err := backups.Get(context.Background(), bs, id).Extract()
		if err != nil {
			return "", err
		}
		return b.Status, nil
	}, want)
}

func createVolume(t *testing.T, bs *gophercloud.ServiceClient, opts volumes.CreateOpts) *volumes.Volume {
	t.Helper()
	v := must(volumes.Create(context.Background(), bs, opts, nil).Extract())(t)
	waitVolume(t, bs, v.ID, "available")
	return v
}
