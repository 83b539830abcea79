package compute

import (
	"context"
	"slices"
	"time"

	"github.com/nubo-cloud/nubo/internal/store"
)

// ServerUsage is one server's use of a period (os-simple-tenant-usage).
type ServerUsage struct {
	Server    Server
	Hours     float64
	StartedAt time.Time
	EndedAt   *time.Time
	// Uptime is seconds since launch (or until termination).
	Uptime int64
	State  string
}

// TenantUsage sums a project's servers over a period.
type TenantUsage struct {
	ProjectID       string
	Start, Stop     time.Time
	TotalHours      float64
	TotalVCPUsUsage float64
	TotalMemoryMB   float64
	TotalLocalGB    float64
	Servers         []ServerUsage
}

// Usage computes the usage of project ("" for every project, admin only)
// over [start, stop): each server counts the hours it existed within the
// period, times its flavor's vCPUs, RAM and disk.
func (s *Service) Usage(ctx context.Context, project string, start, stop time.Time) ([]TenantUsage, error) {
	if stop.Before(start) {
		return nil, badRequest("Invalid start time. The start time cannot occur after the end time.")
	}
	if project == "" {
		if err := requireReader(ctx); err != nil {
			return nil, err
		}
	} else if err := canReadProject(ctx, project); err != nil {
		return nil, err
	}
	var servers []Server
	if err := s.read(ctx, func(tx store.ReadTx) (err error) {
		servers, err = store.List[Server](tx, KindServer, store.ListOptions{Ref: project})
		return err
	}); err != nil {
		return nil, err
	}
	return usageOf(servers, start, stop, s.now()), nil
}

// usageOf is the pure math of Usage.
func usageOf(servers []Server, start, stop, now time.Time) []TenantUsage {
	byProject := map[string]*TenantUsage{}
	var order []string
	for _, sv := range servers {
		from := sv.CreatedAt
		if sv.LaunchedAt != nil {
			from = *sv.LaunchedAt
		}
		to := stop
		if sv.TerminatedAt != nil && sv.TerminatedAt.Before(to) {
			to = *sv.TerminatedAt
		}
		if to.After(now) {
			to = now
		}
		if from.Before(start) {
			from = start
		}
		if !to.After(from) {
			if sv.TerminatedAt != nil || from.After(stop) || !from.Before(stop) {
				continue
			}
		}
		hours := max(to.Sub(from).Hours(), 0)
		t := byProject[sv.ProjectID]
		if t == nil {
			t = &TenantUsage{ProjectID: sv.ProjectID, Start: start, Stop: stop}
			byProject[sv.ProjectID] = t
			order = append(order, sv.ProjectID)
		}
		f := sv.Flavor
		t.TotalHours += hours
		t.TotalVCPUsUsage += hours * float64(f.VCPUs)
		t.TotalMemoryMB += hours * float64(f.RAM)
		t.TotalLocalGB += hours * float64(f.Disk+f.Ephemeral)
		launched := sv.CreatedAt
		if sv.LaunchedAt != nil {
			launched = *sv.LaunchedAt
		}
		end := now
		state := "active"
		if sv.TerminatedAt != nil {
			end = *sv.TerminatedAt
			state = "terminated"
		}
		t.Servers = append(t.Servers, ServerUsage{Server: sv, Hours: hours, StartedAt: launched, EndedAt: sv.TerminatedAt,
			Uptime: int64(end.Sub(launched).Seconds()), State: state})
	}
	slices.Sort(order)
	out := make([]TenantUsage, 0, len(order))
	for _, p := range order {
		out = append(out, *byProject[p])
	}
	return out
}
