package hostctl

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/nubo-cloud/nubo/internal/blob/fsblob"
	"github.com/nubo-cloud/nubo/internal/compute"
	"github.com/nubo-cloud/nubo/internal/driver/blockdev/blockdevtest"
	"github.com/nubo-cloud/nubo/internal/policy"
	"github.com/nubo-cloud/nubo/internal/store"
	"github.com/nubo-cloud/nubo/internal/store/sqlite"
	"github.com/nubo-cloud/nubo/internal/volume"
)

// An in-use volume extended through Cinder has its new size only in its
// volume record: the host's desired state must carry it (the agent grows
// the disk live when the size goes up).
func TestVolumeSizesFollowExtend(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "nubo.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	blobs, err := fsblob.Open(filepath.Join(dir, "backups"))
	if err != nil {
		t.Fatal(err)
	}
	vs := volume.New(st, blockdevtest.New(), nil, blobs, volume.DefaultConfig(), slog.New(slog.DiscardHandler))
	if err := vs.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	member := policy.NewContext(ctx, &policy.Credentials{UserID: "u1", ProjectID: "p1", Roles: []string{"member", "reader"}})
	vol, err := vs.Create(member, volume.CreateRequest{Name: "v", Size: 3})
	if err != nil {
		t.Fatal(err)
	}
	servers := []compute.Server{{ID: "s1", VolumeAttachments: []compute.VolumeAttachment{
		{VolumeID: vol.ID, State: compute.VolumeAttached, SizeGB: 1},
		{VolumeID: "gone", State: compute.VolumeAttached, SizeGB: 1},
		{VolumeID: vol.ID, State: compute.VolumeAttaching, SizeGB: 1},
	}}}
	err = st.Read(ctx, func(tx store.ReadTx) error { return volumeSizes(tx, servers) })
	if err != nil {
		t.Fatal(err)
	}
	if got := []int{servers[0].VolumeAttachments[0].SizeGB, servers[0].VolumeAttachments[1].SizeGB, servers[0].VolumeAttachments[2].SizeGB}; got[0] != 3 || got[1] != 1 || got[2] != 1 {
		t.Errorf("sizes %v, want [3 1 1] (attached: the volume's; unknown volume and attaching: unchanged)", got)
	}
}
