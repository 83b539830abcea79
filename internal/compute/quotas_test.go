package compute

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/image"
	"github.com/nubo-cloud/nubo/internal/scheduler"
	"github.com/nubo-cloud/nubo/internal/store"
)

// activeImages serves one active image for every ID.
type activeImages struct{ Images }

func (activeImages) Get(_ context.Context, id string) (*image.Image, error) {
	return &image.Image{ID: id, Status: image.StatusActive}, nil
}

// checkUsage fails unless project's usage record, where current, equals a
// full recount, in one snapshot; and unless ensureUsage (which repairs a
// missing or stale record) agrees too.
func checkUsage(t *testing.T, st store.Store, project, step string) {
	t.Helper()
	ctx := context.Background()
	err := st.Read(ctx, func(tx store.ReadTx) error {
		want, err := countServers(tx, project, "")
		if err != nil {
			return err
		}
		u, err := store.Get[projectServerUsage](tx, KindUsage, project)
		if err == nil && u.Version == usageVersion && u.ServerCount != want {
			return fmt.Errorf("%s: usage record of %s is %+v, recount %+v", step, project, u.ServerCount, want)
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = st.Write(ctx, func(tx store.Tx) error {
		got, err := ensureUsage(tx, project)
		if err != nil {
			return err
		}
		want, err := countServers(tx, project, "")
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("%s: ensureUsage of %s is %+v, recount %+v", step, project, got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestUsage_CounterMatchesRecount runs random sequences of creates (some
// refused by quota), deletes (at once and through the host), resizes
// (confirmed, reverted, failed), shelve-offloads, writes of servers stored
// before usage records existed and lost records, in several projects at
// once, and checks after every step that each project's usage record equals
// a recount of its servers.
func TestUsage_CounterMatchesRecount(t *testing.T) {
	s, st := newService(t)
	s.SetImages(activeImages{})
	ctx := admin()
	h, err := s.RegisterHost(context.Background(), HostSpec{Name: "big", Inventory: map[string]scheduler.Inventory{
		scheduler.VCPU:     {Total: 100000, AllocationRatio: 1},
		scheduler.MemoryMB: {Total: 1 << 30, AllocationRatio: 1},
	}})
	if err != nil {
		t.Fatal(err)
	}
	var flavors []string
	for i, size := range []int64{1, 2, 4} {
		f, err := s.CreateFlavor(ctx, Flavor{Name: fmt.Sprint("f", i), VCPUs: size, RAM: 512 * size, IsPublic: true})
		if err != nil {
			t.Fatal(err)
		}
		flavors = append(flavors, f.ID)
	}
	const workers = 4
	var wg sync.WaitGroup
	for w := range workers {
		project := fmt.Sprint("p", w)
		if _, err := s.UpdateQuotas(ctx, project, "", map[string]int64{"instances": 12, "cores": 30}, false); err != nil {
			t.Fatal(err)
		}
		seed := uint64(w + 1)
		wg.Go(func() {
			runUsageSequence(t, s, st, h.ID, project, flavors, rand.New(rand.NewPCG(seed, 42)))
		})
	}
	wg.Wait()
}

func runUsageSequence(t *testing.T, s *Service, st store.Store, hostID, project string, flavors []string, rng *rand.Rand) {
	ctx := member(project, "u-"+project)
	bg := context.Background()
	// edit changes a server in one write transaction, as the host side does.
	edit := func(id string, fn func(tx store.Tx, sv *Server) error) {
		err := st.Write(bg, func(tx store.Tx) error {
			sv, err := store.Get[Server](tx, KindServer, id)
			if err != nil {
				return err
			}
			if err := fn(tx, sv); err != nil {
				return err
			}
			return putServer(tx, sv, false)
		})
		if err != nil {
			t.Error(err)
		}
	}
	report := func(id, task string, obs Observed) {
		edit(id, func(_ store.Tx, sv *Server) error { sv.TaskState = task; return nil })
		if err := s.ReportServers(bg, []ServerReport{{ID: id, Task: task, Observed: obs}}); err != nil {
			t.Error(err)
		}
	}
	live := func() []Server {
		list, err := s.ListServers(ctx, ListServersOptions{})
		if err != nil {
			t.Error(err)
		}
		return list
	}
	running := Observed{VMState: VMActive, PowerState: PowerRunning}
	refused := 0
	for step := range 250 {
		servers := live()
		var sv *Server
		if len(servers) > 0 {
			sv = &servers[rng.IntN(len(servers))]
		}
		op := rng.IntN(12)
		if sv == nil {
			op = 0
		}
		var name string
		switch op {
		case 0, 1, 2:
			name = "create"
			n := 1 + rng.IntN(3)
			_, err := s.CreateServer(ctx, CreateServerRequest{Name: "vm", ImageRef: "img", FlavorRef: flavors[rng.IntN(len(flavors))], MinCount: 1 + rng.IntN(n), MaxCount: n})
			if fault.Is(err, fault.Forbidden) {
				refused++
			} else if err != nil {
				t.Error(err)
				return
			}
		case 3:
			name = "place"
			if sv.HostID == "" && sv.TaskState == TaskScheduling {
				edit(sv.ID, func(tx store.Tx, sv *Server) error {
					sv.HostID, sv.HostName, sv.TaskState = hostID, "big", TaskSpawning
					return nil
				})
				report(sv.ID, TaskSpawning, running)
			}
		case 4, 5:
			name = "delete"
			_ = s.DeleteServer(ctx, sv.ID, rng.IntN(2) == 0)
			if cur, err := s.GetServer(ctx, sv.ID); err == nil && cur.TaskState == TaskDeleting {
				report(sv.ID, TaskDeleting, Observed{Gone: true})
			}
		case 6, 7:
			name = "resize"
			if err := s.Resize(ctx, sv.ID, flavors[rng.IntN(len(flavors))], nil); err != nil {
				break // wrong state, same flavor or over quota
			}
			if rng.IntN(4) == 0 {
				if err := s.placementFailed(bg, sv.ID, TaskResizePrep, errors.New("no host")); err != nil {
					t.Error(err)
				}
				break
			}
			report(sv.ID, TaskResizeMigrated, Observed{VMState: VMResized, PowerState: PowerRunning})
		case 8:
			name = "confirm-or-revert"
			if sv.VMState != VMResized {
				break
			}
			if rng.IntN(2) == 0 {
				_ = s.ConfirmResize(ctx, sv.ID)
			} else if err := s.RevertResize(ctx, sv.ID); err == nil {
				report(sv.ID, TaskResizeReverting, running)
			}
		case 9:
			name = "shelve-offload"
			if sv.VMState == VMActive && sv.TaskState == "" {
				report(sv.ID, TaskShelving, Observed{Gone: true})
			}
		case 10:
			name = "legacy-write"
			// A server as stored before usage records: no share recorded.
			err := st.Write(bg, func(tx store.Tx) error {
				cur, err := store.Get[Server](tx, KindServer, sv.ID)
				if err != nil {
					return err
				}
				cur.QuotaCounted = nil
				return tx.Update(store.Record{Kind: KindServer, ID: cur.ID, Ref: cur.ProjectID, Unique: []string{seqKey(cur.Seq)}, Value: cur})
			})
			if err != nil {
				t.Error(err)
			}
			if rng.IntN(2) == 0 {
				edit(sv.ID, func(_ store.Tx, sv *Server) error { sv.Name = "renamed"; return nil })
			}
		case 11:
			name = "stale-record"
			err := st.Write(bg, func(tx store.Tx) error {
				if rng.IntN(2) == 0 {
					return tx.Delete(KindUsage, project)
				}
				u, err := store.Get[projectServerUsage](tx, KindUsage, project)
				if err != nil {
					return err
				}
				u.Version, u.Instances = 0, u.Instances+7 // wrong and of an old version
				return tx.Update(store.Record{Kind: KindUsage, ID: project, Value: u})
			})
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				t.Error(err)
			}
		}
		if t.Failed() {
			return
		}
		checkUsage(t, st, project, fmt.Sprintf("%s step %d (%s)", project, step, name))
	}
	if refused == 0 {
		t.Errorf("%s: no create was refused by quota; the sequence does not reach the limits", project)
	}
	// The API's usage agrees with a recount too.
	q, err := s.QuotaSet(admin(), project, "")
	if err != nil {
		t.Fatal(err)
	}
	var want ServerCount
	_ = st.Read(bg, func(tx store.ReadTx) (err error) { want, err = countServers(tx, project, ""); return err })
	if q["instances"].InUse != want.Instances || q["cores"].InUse != want.Cores || q["ram"].InUse != want.RAM {
		t.Errorf("%s: QuotaSet in use %d/%d/%d, recount %+v", project, q["instances"].InUse, q["cores"].InUse, q["ram"].InUse, want)
	}
}
