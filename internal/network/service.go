package network

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/policy"
	"github.com/nubo-cloud/nubo/internal/store"
)

// Config is the network section of Nubo's configuration.
type Config struct {
	// MTU is the MTU of tenant (VXLAN) networks; flat and VLAN networks get
	// MTU+50.
	MTU int
	// PhysicalNetworks names the provider networks flat/VLAN networks may use.
	PhysicalNetworks []string
	// AvailabilityZones lists the zones reported for networks and routers.
	AvailabilityZones []string
	// Quotas are the per-project defaults (-1 = unlimited).
	Quotas map[string]int
}

// DefaultConfig returns Neutron's defaults.
func DefaultConfig() Config {
	return Config{
		MTU:               1450,
		PhysicalNetworks:  []string{"public", "physnet1"},
		AvailabilityZones: []string{"nova"},
		Quotas: map[string]int{
			"network": 100, "subnet": 100, "port": 500, "router": 10, "floatingip": 50,
			"security_group": 10, "security_group_rule": 100, "subnetpool": -1, "rbac_policy": 10,
		},
	}
}

// Service implements the Networking domain over a store.
type Service struct {
	st  store.Store
	cfg Config
	log *slog.Logger
	now func() time.Time
}

// New returns a Service.
func New(st store.Store, cfg Config, log *slog.Logger) *Service {
	d := DefaultConfig()
	if cfg.MTU == 0 {
		cfg.MTU = d.MTU
	}
	if cfg.PhysicalNetworks == nil {
		cfg.PhysicalNetworks = d.PhysicalNetworks
	}
	if cfg.AvailabilityZones == nil {
		cfg.AvailabilityZones = d.AvailabilityZones
	}
	if cfg.Quotas == nil {
		cfg.Quotas = d.Quotas
	}
	return &Service{st: st, cfg: cfg, log: log.With("component", "network"), now: func() time.Time { return time.Now().UTC().Truncate(time.Second) }}
}

// AvailabilityZones returns the configured zones.
func (s *Service) AvailabilityZones() []string { return s.cfg.AvailabilityZones }

func newID() string { return uuid.NewString() }

// Faults, named as Neutron names them (the API maps Type to the body).
func notFound(typ, what, id string) error {
	return &fault.Error{Kind: fault.NotFound, Type: typ, Msg: what + " " + id + " could not be found."}
}

func badRequest(format string, args ...any) error {
	fe := fault.New(fault.BadRequest, format, args...)
	fe.Type = "BadRequest"
	return fe
}

func invalidInput(format string, args ...any) error {
	fe := fault.New(fault.BadRequest, "Invalid input for operation: "+format, args...)
	fe.Type = "InvalidInput"
	return fe
}

func conflict(typ, format string, args ...any) error {
	fe := fault.New(fault.Conflict, format, args...)
	fe.Type = typ
	return fe
}

func forbidden(format string, args ...any) error {
	fe := fault.New(fault.Forbidden, format, args...)
	fe.Type = "PolicyNotAuthorized"
	return fe
}

// creds returns the caller; every call needs a project-scoped (or admin) token.
func creds(ctx context.Context) (*policy.Credentials, error) {
	c := policy.FromContext(ctx)
	if c == nil || !c.Scoped() {
		return nil, forbidden("A project-scoped token is required.")
	}
	return c, nil
}

// listVisible returns, from one snapshot, the records of kind the caller may
// see: those for which keep holds.
func listVisible[T any](ctx context.Context, s *Service, kind string, keep func(c *policy.Credentials, v *T) bool) ([]T, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	var out []T
	err = s.read(ctx, func(tx store.ReadTx) error {
		all, err := store.List[T](tx, kind, store.ListOptions{})
		if err != nil {
			return err
		}
		for i := range all {
			if keep(c, &all[i]) {
				out = append(out, all[i])
			}
		}
		return nil
	})
	return out, err
}

// visible reports whether the caller may see a resource of project.
func visible(c *policy.Credentials, project string) bool {
	return c.IsAdmin() || (c.ProjectID != "" && c.ProjectID == project)
}

// canWrite reports whether the caller may change a resource of project.
func canWrite(c *policy.Credentials, project string) bool {
	return c.IsAdmin() || (c.ProjectID == project && c.HasRole(policy.RoleMember))
}

// ownerFor resolves the project a new resource belongs to.
func ownerFor(c *policy.Credentials, project, tenant string) (string, error) {
	if project == "" {
		project = tenant
	}
	if project != "" && tenant != "" && project != tenant {
		return "", badRequest("'project_id' and 'tenant_id' do not match")
	}
	if project == "" || project == c.ProjectID {
		if c.ProjectID == "" && !c.IsAdmin() {
			return "", forbidden("A project-scoped token is required.")
		}
		if !canWrite(c, c.ProjectID) {
			return "", forbidden("rule:create is disallowed by policy")
		}
		if project == "" {
			project = c.ProjectID
		}
		return project, nil
	}
	if !c.IsAdmin() {
		return "", forbidden("Only admins may create resources for other projects.")
	}
	return project, nil
}

func (s *Service) read(ctx context.Context, fn func(store.ReadTx) error) error {
	return s.st.Read(ctx, fn)
}

func (s *Service) write(ctx context.Context, fn func(store.Tx) error) error {
	return s.st.Write(ctx, fn)
}

// record is a stored resource.
type record interface {
	meta() *Meta
}

func put(tx store.Tx, kind, ref string, v record, unique []string, create bool) error {
	r := store.Record{Kind: kind, ID: v.meta().ID, Ref: ref, Unique: unique, Value: v}
	if create {
		return tx.Create(r)
	}
	return tx.Update(r)
}

// touch bumps the revision and update time before an update, checking the
// revision the client expects (If-Match: revision_number=N).
func (s *Service) touch(m *Meta, expect *int64) error {
	if expect != nil && *expect != m.Revision {
		return conflict("RevisionNumberConstraintFailed", "Constrained to %d, but current revision is %d", *expect, m.Revision)
	}
	m.Revision++
	m.UpdatedAt = s.now()
	return nil
}

func (s *Service) newMeta(project, name, desc string) Meta {
	now := s.now()
	return Meta{ID: newID(), Name: name, Description: desc, ProjectID: project, Tags: []string{}, CreatedAt: now, UpdatedAt: now}
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

// orEmpty keeps JSON arrays non-null.
func orEmpty[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

// --- quotas and usage ---

// Resources lists the quota names, in Neutron's order.
var Resources = []string{"network", "subnet", "port", "router", "floatingip", "security_group", "security_group_rule", "subnetpool", "rbac_policy"}

type quotaRecord struct {
	ProjectID string         `json:"project_id"`
	Limits    map[string]int `json:"limits"`
}

type usageRecord struct {
	ProjectID string         `json:"project_id"`
	Used      map[string]int `json:"used"`
}

// limits returns a project's effective quota.
func (s *Service) limits(tx store.ReadTx, project string) (map[string]int, error) {
	out := map[string]int{}
	for k, v := range s.cfg.Quotas {
		out[k] = v
	}
	q, err := store.Get[quotaRecord](tx, kindQuota, project)
	if err != nil && !isNotFound(err) {
		return nil, err
	}
	if q != nil {
		for k, v := range q.Limits {
			out[k] = v
		}
	}
	return out, nil
}

func usage(tx store.ReadTx, project string) (map[string]int, error) {
	u, err := store.Get[usageRecord](tx, kindUsage, project)
	if isNotFound(err) {
		return map[string]int{}, nil
	}
	if err != nil {
		return nil, err
	}
	if u.Used == nil {
		u.Used = map[string]int{}
	}
	return u.Used, nil
}

// charge counts n more of resource for project, failing with OverQuota when
// that exceeds the limit (n < 0 releases and never fails). It runs inside
// the write transaction that creates or deletes the resource.
func (s *Service) charge(tx store.Tx, project, resource string, n int) error {
	return s.adjust(tx, project, resource, n, true)
}

// count adjusts usage without checking the limit (resources Neutron makes on
// its own, such as the default security group).
func (s *Service) count(tx store.Tx, project, resource string, n int) {
	if err := s.adjust(tx, project, resource, n, false); err != nil {
		s.log.Warn("quota usage not recorded", "project", project, "resource", resource, "err", err)
	}
}

func (s *Service) adjust(tx store.Tx, project, resource string, n int, check bool) error {
	if project == "" {
		return nil
	}
	used, err := usage(tx, project)
	if err != nil {
		return err
	}
	if n > 0 && check {
		lim, err := s.limits(tx, project)
		if err != nil {
			return err
		}
		if l, ok := lim[resource]; ok && l >= 0 && used[resource]+n > l {
			return conflict("OverQuota", "Quota exceeded for resources: ['%s'].", resource)
		}
	}
	used[resource] = max(0, used[resource]+n)
	r := store.Record{Kind: kindUsage, ID: project, Ref: project, Value: usageRecord{ProjectID: project, Used: used}}
	if err := tx.Update(r); isNotFound(err) {
		return tx.Create(r)
	} else {
		return err
	}
}

// QuotaDetail is one resource's limit and use.
type QuotaDetail struct {
	Limit    int `json:"limit"`
	Used     int `json:"used"`
	Reserved int `json:"reserved"`
}

// GetQuota returns a project's quota (limits only).
func (s *Service) GetQuota(ctx context.Context, project string) (map[string]int, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	if !c.IsAdmin() && c.ProjectID != project {
		return nil, forbidden("Only admins may read other projects' quotas.")
	}
	var out map[string]int
	err = s.read(ctx, func(tx store.ReadTx) error {
		out, err = s.limits(tx, project)
		return err
	})
	return out, err
}

// DefaultQuota returns the defaults.
func (s *Service) DefaultQuota() map[string]int {
	out := map[string]int{}
	for k, v := range s.cfg.Quotas {
		out[k] = v
	}
	return out
}

// QuotaDetails returns limits and use per resource.
func (s *Service) QuotaDetails(ctx context.Context, project string) (map[string]QuotaDetail, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	if !c.IsAdmin() && c.ProjectID != project {
		return nil, forbidden("Only admins may read other projects' quotas.")
	}
	out := map[string]QuotaDetail{}
	err = s.read(ctx, func(tx store.ReadTx) error {
		lim, err := s.limits(tx, project)
		if err != nil {
			return err
		}
		used, err := usage(tx, project)
		if err != nil {
			return err
		}
		for k, l := range lim {
			out[k] = QuotaDetail{Limit: l, Used: used[k]}
		}
		return nil
	})
	return out, err
}

// ListQuotas returns the projects with non-default quotas (admin).
func (s *Service) ListQuotas(ctx context.Context) (map[string]map[string]int, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	if !c.IsAdmin() {
		return nil, forbidden("rule:get_quota is disallowed by policy")
	}
	out := map[string]map[string]int{}
	err = s.read(ctx, func(tx store.ReadTx) error {
		qs, err := store.List[quotaRecord](tx, kindQuota, store.ListOptions{})
		if err != nil {
			return err
		}
		for _, q := range qs {
			lim, err := s.limits(tx, q.ProjectID)
			if err != nil {
				return err
			}
			out[q.ProjectID] = lim
		}
		return nil
	})
	return out, err
}

// UpdateQuota sets some of a project's limits (admin).
func (s *Service) UpdateQuota(ctx context.Context, project string, set map[string]int) (map[string]int, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	if !c.IsAdmin() {
		return nil, forbidden("rule:update_quota is disallowed by policy")
	}
	for k, v := range set {
		if !slices.Contains(Resources, k) {
			return nil, invalidInput("Unrecognized quota resource %s", k)
		}
		if v < -1 {
			return nil, invalidInput("'%d' should be greater than or equal to -1", v)
		}
	}
	var out map[string]int
	err = s.write(ctx, func(tx store.Tx) error {
		q, err := store.Get[quotaRecord](tx, kindQuota, project)
		create := isNotFound(err)
		if err != nil && !create {
			return err
		}
		if create {
			q = &quotaRecord{ProjectID: project, Limits: map[string]int{}}
		}
		for k, v := range set {
			q.Limits[k] = v
		}
		r := store.Record{Kind: kindQuota, ID: project, Value: q}
		if create {
			err = tx.Create(r)
		} else {
			err = tx.Update(r)
		}
		if err != nil {
			return err
		}
		out, err = s.limits(tx, project)
		return err
	})
	return out, err
}

// ResetQuota drops a project's overrides (admin).
func (s *Service) ResetQuota(ctx context.Context, project string) error {
	c, err := creds(ctx)
	if err != nil {
		return err
	}
	if !c.IsAdmin() {
		return forbidden("rule:delete_quota is disallowed by policy")
	}
	return s.write(ctx, func(tx store.Tx) error {
		if err := tx.Delete(kindQuota, project); err != nil && !isNotFound(err) {
			return err
		}
		return nil
	})
}

func withType(err error, typ string) error {
	if fe, ok := err.(*fault.Error); ok {
		fe.Type = typ
	}
	return err
}

// Int is an integer that also accepts a numeric JSON string, as Neutron
// does (the openstack CLI sends "mtu": "1400").
type Int int

// UnmarshalJSON implements json.Unmarshaler.
func (i *Int) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	n, err := strconv.Atoi(s)
	if err != nil {
		return invalidInput("'%s' is not an integer", s)
	}
	*i = Int(n)
	return nil
}

func isConflict(err error) bool { return errors.Is(err, store.ErrConflict) }
