package volume

import (
	"context"
	"slices"

	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/store"
)

// HostUsage is what one project (or "(total)") keeps on a volume host.
type HostUsage struct {
	Project         string
	VolumeCount     int64
	TotalVolumeGB   int64
	SnapshotCount   int64
	TotalSnapshotGB int64
}

// HostUsage returns the volumes and snapshots on a volume host (admin):
// the total first, then one entry per project. A host that runs no
// volume service is a 404.
func (s *Service) HostUsage(ctx context.Context, host string) ([]HostUsage, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	if host != s.BackendHost() && host != HostName && host != s.Host() {
		return nil, fault.New(fault.NotFound, "Host %s could not be found.", host)
	}
	var out []HostUsage
	err := s.st.Read(ctx, func(tx store.ReadTx) error {
		vols, err := store.List[Volume](tx, KindVolume, store.ListOptions{})
		if err != nil {
			return err
		}
		snaps, err := store.List[Snapshot](tx, KindSnapshot, store.ListOptions{})
		if err != nil {
			return err
		}
		per := map[string]*HostUsage{}
		total := &HostUsage{Project: "(total)"}
		at := func(p string) *HostUsage {
			if per[p] == nil {
				per[p] = &HostUsage{Project: p}
			}
			return per[p]
		}
		for _, v := range vols {
			for _, u := range []*HostUsage{total, at(v.ProjectID)} {
				u.VolumeCount++
				u.TotalVolumeGB += v.Size
			}
		}
		for _, sn := range snaps {
			for _, u := range []*HostUsage{total, at(sn.ProjectID)} {
				u.SnapshotCount++
				u.TotalSnapshotGB += sn.Size
			}
		}
		out = append(out, *total)
		for _, p := range slicesSortedKeys(per) {
			out = append(out, *per[p])
		}
		return nil
	})
	return out, err
}

func slicesSortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Pool is the one storage pool of the backend, as the scheduler sees it.
type Pool struct {
	// Name is host@backend#pool.
	Name string
	// BackendName, Protocol and Vendor are the capabilities a type's extra
	// specs can ask for.
	BackendName, Protocol, Vendor, DriverVersion string
	// AllocatedGB is the size of every volume on the pool.
	AllocatedGB int64
}

// Pools returns the backend's pools (admin).
func (s *Service) Pools(ctx context.Context) ([]Pool, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	p := Pool{Name: s.Host(), BackendName: s.drv.Name(), Protocol: "file", Vendor: "Nubo", DriverVersion: "1.0.0"}
	err := s.st.Read(ctx, func(tx store.ReadTx) error {
		vols, err := store.List[Volume](tx, KindVolume, store.ListOptions{})
		for _, v := range vols {
			p.AllocatedGB += v.Size
		}
		return err
	})
	return []Pool{p}, err
}

// BackendPool returns the pool of a backend named host@backend (or
// host@backend#pool); 404 for any other (admin).
func (s *Service) BackendPool(ctx context.Context, host string) (*Pool, error) {
	pools, err := s.Pools(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range pools {
		if host == p.Name || host == s.BackendHost() {
			return &p, nil
		}
	}
	return nil, fault.New(fault.NotFound, "Backend %s could not be found.", host)
}
