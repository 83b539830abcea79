package compute

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/nubo-cloud/nubo/internal/policy"
	"github.com/nubo-cloud/nubo/internal/store"
)

// InstanceAction records one action on a server (os-instance-actions).
type InstanceAction struct {
	ID         string        `json:"id"`
	ServerID   string        `json:"server_id"`
	Action     string        `json:"action"`
	RequestID  string        `json:"request_id"`
	UserID     string        `json:"user_id"`
	ProjectID  string        `json:"project_id"`
	StartTime  time.Time     `json:"start_time"`
	UpdatedAt  time.Time     `json:"updated_at"`
	Message    *string       `json:"message"`
	Events     []ActionEvent `json:"events"`
	Finished   bool          `json:"finished,omitempty"`
	ServerHost string        `json:"host,omitempty"`
}

// ActionEvent is one step of an action.
type ActionEvent struct {
	Event      string     `json:"event"`
	StartTime  time.Time  `json:"start_time"`
	FinishTime *time.Time `json:"finish_time"`
	Result     *string    `json:"result"`
	Host       string     `json:"host,omitempty"`
	HostID     string     `json:"host_id,omitempty"`
}

func newAction(tx store.Tx, sv *Server, action, requestID string, c *policy.Credentials, now time.Time, event string) (*InstanceAction, error) {
	if requestID == "" {
		requestID = "req-" + newID()
	}
	a := &InstanceAction{ID: newID(), ServerID: sv.ID, Action: action, RequestID: requestID, UserID: c.UserID,
		ProjectID: c.ProjectID, StartTime: now, UpdatedAt: now, Events: []ActionEvent{}}
	if event != "" {
		a.Events = append(a.Events, ActionEvent{Event: event, StartTime: now, Host: sv.HostName})
	}
	if err := tx.Create(store.Record{Kind: KindAction, ID: a.ID, Ref: sv.ID, Value: a}); err != nil {
		return nil, err
	}
	return a, nil
}

// recordAction records an action that finishes at once (lock, metadata…).
func recordAction(tx store.Tx, sv *Server, action, requestID string, c *policy.Credentials, now time.Time) error {
	a, err := newAction(tx, sv, action, requestID, c, now, "")
	if err != nil {
		return err
	}
	a.Finished = true
	return tx.Update(store.Record{Kind: KindAction, ID: a.ID, Ref: sv.ID, Value: a})
}

// finishActions finishes the open events of the server's current action.
func finishActions(tx store.Tx, sv *Server, now time.Time, result string) error {
	if sv.ActionID == "" {
		return nil
	}
	a, err := store.Get[InstanceAction](tx, KindAction, sv.ActionID)
	if errors.Is(err, store.ErrNotFound) {
		sv.ActionID = ""
		return nil
	}
	if err != nil {
		return err
	}
	for i := range a.Events {
		if a.Events[i].FinishTime == nil {
			a.Events[i].FinishTime, a.Events[i].Result = &now, &result
		}
	}
	if result == "Error" {
		msg := "Error"
		a.Message = &msg
	}
	a.Finished, a.UpdatedAt = true, now
	sv.ActionID = ""
	return tx.Update(store.Record{Kind: KindAction, ID: a.ID, Ref: sv.ID, Value: a})
}

// addEvent starts another event of the server's current action.
func addEvent(tx store.Tx, sv *Server, event string, now time.Time) error {
	if sv.ActionID == "" {
		return nil
	}
	a, err := store.Get[InstanceAction](tx, KindAction, sv.ActionID)
	if err != nil {
		return nil //nolint:nilerr // an action record is informational
	}
	for i := range a.Events {
		if a.Events[i].FinishTime == nil {
			ok := "Success"
			a.Events[i].FinishTime, a.Events[i].Result = &now, &ok
		}
	}
	a.Events = append(a.Events, ActionEvent{Event: event, StartTime: now, Host: sv.HostName, HostID: sv.HostID})
	a.UpdatedAt = now
	return tx.Update(store.Record{Kind: KindAction, ID: a.ID, Ref: sv.ID, Value: a})
}

// ListInstanceActions returns a server's actions, newest first. Deleted
// servers' actions stay readable (Nova reads them with read_deleted).
func (s *Service) ListInstanceActions(ctx context.Context, serverID string) ([]InstanceAction, error) {
	c := creds(ctx)
	var out []InstanceAction
	err := s.read(ctx, func(tx store.ReadTx) error {
		sv, err := store.Get[Server](tx, KindServer, serverID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !visible(c, sv)) {
			return serverNotFound(serverID)
		}
		if err != nil {
			return err
		}
		out, err = store.List[InstanceAction](tx, KindAction, store.ListOptions{Ref: serverID})
		return err
	})
	slices.SortStableFunc(out, func(a, b InstanceAction) int { return b.StartTime.Compare(a.StartTime) })
	return out, err
}

// GetInstanceAction returns one action by its request ID.
func (s *Service) GetInstanceAction(ctx context.Context, serverID, requestID string) (*InstanceAction, error) {
	list, err := s.ListInstanceActions(ctx, serverID)
	if err != nil {
		return nil, err
	}
	for i := range list {
		if list[i].RequestID == requestID {
			return &list[i], nil
		}
	}
	return nil, notFound("Action for request_id %s on instance %s not found", requestID, serverID)
}

// Migration is a resize, cold or live migration (os-migrations).
type Migration struct {
	ID            string    `json:"id"`
	Seq           int64     `json:"seq"`
	ServerID      string    `json:"server_id"`
	ProjectID     string    `json:"project_id"`
	UserID        string    `json:"user_id"`
	Type          string    `json:"type"` // resize, migration, live-migration
	Status        string    `json:"status"`
	SourceCompute string    `json:"source_compute"`
	SourceNode    string    `json:"source_node"`
	DestCompute   string    `json:"dest_compute"`
	DestNode      string    `json:"dest_node"`
	DestHost      string    `json:"dest_host"`
	OldFlavorSeq  int64     `json:"old_flavor_seq"`
	NewFlavorSeq  int64     `json:"new_flavor_seq"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

func putMigration(tx store.Tx, m *Migration, create bool) error {
	rec := store.Record{Kind: KindMigration, ID: m.ID, Ref: m.ServerID, Unique: []string{seqKey(m.Seq)}, Value: m}
	if create {
		return tx.Create(rec)
	}
	return tx.Update(rec)
}

func setMigrationStatus(tx store.Tx, id, status string, now time.Time, dest *Host) error {
	if id == "" {
		return nil
	}
	m, err := store.Get[Migration](tx, KindMigration, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	m.Status, m.UpdatedAt = status, now
	if dest != nil {
		m.DestCompute, m.DestNode, m.DestHost = dest.Name, dest.HypervisorHostname, dest.HostIP
	}
	return putMigration(tx, m, false)
}

// MigrationFilter narrows ListMigrations.
type MigrationFilter struct {
	ServerID, Type, Status, Host string
}

// ListMigrations returns migrations (admin), newest first.
func (s *Service) ListMigrations(ctx context.Context, f MigrationFilter) ([]Migration, error) {
	if err := requireReader(ctx); err != nil {
		return nil, err
	}
	var all []Migration
	err := s.read(ctx, func(tx store.ReadTx) (err error) {
		all, err = store.List[Migration](tx, KindMigration, store.ListOptions{Ref: f.ServerID})
		return err
	})
	out := all[:0]
	for _, m := range all {
		if (f.Type == "" || m.Type == f.Type) && (f.Status == "" || m.Status == f.Status) &&
			(f.Host == "" || m.SourceCompute == f.Host || m.DestCompute == f.Host) {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b Migration) int { return int(b.Seq - a.Seq) })
	return out, err
}
