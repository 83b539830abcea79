package compute

import (
	"context"
	"errors"
	"maps"

	"github.com/nubo-cloud/nubo/internal/store"
)

// QuotaResources are the quota names Nova knows, with their defaults
// (Nova's [quota] defaults). Network ones (floating_ips, fixed_ips,
// security_groups, security_group_rules) are shown before 2.36 only and
// enforced by Networking, not here.
var QuotaResources = map[string]int64{
	"instances":                   10,
	"cores":                       20,
	"ram":                         51200,
	"metadata_items":              128,
	"injected_files":              5,
	"injected_file_content_bytes": 10240,
	"injected_file_path_bytes":    255,
	"key_pairs":                   100,
	"server_groups":               10,
	"server_group_members":        10,
	"floating_ips":                10,
	"fixed_ips":                   -1,
	"security_groups":             10,
	"security_group_rules":        20,
}

// Quota is a project's overrides, plus per-user overrides.
type Quota struct {
	ProjectID string                      `json:"project_id"`
	Limits    map[string]int64            `json:"limits"`
	Users     map[string]map[string]int64 `json:"users,omitempty"`
}

// QuotaClass is a named set of limits; class "default" holds the defaults.
type QuotaClass struct {
	ID     string           `json:"id"`
	Limits map[string]int64 `json:"limits"`
}

// DefaultQuotaClass names the class of the defaults.
const DefaultQuotaClass = "default"

func defaults(tx store.ReadTx) (map[string]int64, error) {
	out := maps.Clone(QuotaResources)
	c, err := store.Get[QuotaClass](tx, KindQuotaClass, DefaultQuotaClass)
	if errors.Is(err, store.ErrNotFound) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	maps.Copy(out, c.Limits)
	return out, nil
}

// effectiveQuota returns the limits of project (and user, when set).
func effectiveQuota(tx store.ReadTx, project, user string) (map[string]int64, error) {
	out, err := defaults(tx)
	if err != nil {
		return nil, err
	}
	q, err := store.Get[Quota](tx, KindQuota, project)
	if errors.Is(err, store.ErrNotFound) || project == "" {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	maps.Copy(out, q.Limits)
	if user != "" {
		maps.Copy(out, q.Users[user])
	}
	return out, nil
}

// QuotaUsage is one resource's limit and use.
type QuotaUsage struct {
	Limit    int64
	InUse    int64
	Reserved int64
}

func canReadProject(ctx context.Context, project string) error {
	c := creds(ctx)
	if c.IsReader() || c.OwnsProject(project) {
		return nil
	}
	return forbidden()
}

// QuotaSet returns the limits and usage of project (and user, when set).
func (s *Service) QuotaSet(ctx context.Context, project, user string) (map[string]QuotaUsage, error) {
	if err := canReadProject(ctx, project); err != nil {
		return nil, err
	}
	out := map[string]QuotaUsage{}
	err := s.read(ctx, func(tx store.ReadTx) error {
		lim, err := effectiveQuota(tx, project, user)
		if err != nil {
			return err
		}
		use, err := projectUsage(tx, project, user)
		if err != nil {
			return err
		}
		for k, l := range lim {
			out[k] = QuotaUsage{Limit: l, InUse: use[k]}
		}
		return nil
	})
	return out, err
}

// projectUsage returns what project (and user, for key pairs) uses. The
// servers' share of a whole project comes from its usage record when that is
// current (serverUsage); per user it is counted.
func projectUsage(tx store.ReadTx, project, user string) (map[string]int64, error) {
	var sc ServerCount
	var err error
	if user == "" {
		sc, err = serverUsage(tx, project)
	} else {
		sc, err = countServers(tx, project, user)
	}
	if err != nil {
		return nil, err
	}
	use := sc.usage()
	groups, err := tx.List(KindServerGroup, store.ListOptions{Ref: project})
	if err != nil {
		return nil, err
	}
	use["server_groups"] = int64(len(groups))
	if user != "" {
		kps, err := tx.List(KindKeypair, store.ListOptions{Ref: user})
		if err != nil {
			return nil, err
		}
		use["key_pairs"] = int64(len(kps))
	}
	return use, nil
}

// ServerCount is what servers count against the instances, cores and ram
// quotas: one server (Server.QuotaCounted) or all of a project's
// (KindUsage).
type ServerCount struct {
	Instances int64 `json:"instances,omitempty"`
	Cores     int64 `json:"cores,omitempty"`
	RAM       int64 `json:"ram,omitempty"`
}

func (c ServerCount) plus(d ServerCount) ServerCount {
	return ServerCount{c.Instances + d.Instances, c.Cores + d.Cores, c.RAM + d.RAM}
}

func (c ServerCount) minus(d ServerCount) ServerCount {
	return ServerCount{c.Instances - d.Instances, c.Cores - d.Cores, c.RAM - d.RAM}
}

func (c ServerCount) usage() map[string]int64 {
	return map[string]int64{"instances": c.Instances, "cores": c.Cores, "ram": c.RAM}
}

// countOf is what sv counts: every server that is not deleted, with its
// current flavor (during a resize, the new one; shelved-offloaded servers
// too, as in Nova).
func countOf(sv *Server) ServerCount {
	if sv.Deleted {
		return ServerCount{}
	}
	return ServerCount{Instances: 1, Cores: sv.Flavor.VCPUs, RAM: sv.Flavor.RAM}
}

// usageVersion is the version of the counting rules; a usage record of
// another version (or none) is recounted from the servers.
const usageVersion = 1

// projectServerUsage is the KindUsage record of a project (ID: project ID):
// the sum of countOf over its servers, kept exact by putServer in the same
// transaction as every server write, so a quota check reads one record
// instead of listing the project's servers.
//
// Invariant: when the record exists with Version == usageVersion it equals
// the sum of countOf over the project's stored servers, and every stored
// server with QuotaCounted set counts exactly that. A server written before
// counting existed (QuotaCounted nil) has an unknown share, so writing it
// drops the record, and the next write-side check recounts (ensureUsage).
type projectServerUsage struct {
	ProjectID string `json:"project_id"`
	Version   int    `json:"version"`
	ServerCount
}

// putServerCounted writes sv and keeps the project's usage record exact.
func putServerCounted(tx store.Tx, sv *Server, create bool, write func() error) error {
	prev := sv.QuotaCounted
	now := countOf(sv)
	var was ServerCount
	known := true
	switch {
	case create:
	case prev == nil:
		known = false // written before counting: share unknown
	default:
		was = *prev
	}
	sv.QuotaCounted = &now
	if err := write(); err != nil {
		sv.QuotaCounted = prev
		return err
	}
	if !known {
		if err := tx.Delete(KindUsage, sv.ProjectID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return nil
	}
	if now == was {
		return nil
	}
	u, err := store.Get[projectServerUsage](tx, KindUsage, sv.ProjectID)
	if errors.Is(err, store.ErrNotFound) {
		return nil // recounted on the next check, this write included
	}
	if err != nil {
		return err
	}
	if u.Version != usageVersion {
		return nil
	}
	u.ServerCount = u.plus(now.minus(was))
	return tx.Update(store.Record{Kind: KindUsage, ID: sv.ProjectID, Value: u})
}

// serverUsage reads what project's servers count: its usage record when
// current, else a count (a read cannot repair the record; ensureUsage does).
func serverUsage(tx store.ReadTx, project string) (ServerCount, error) {
	u, err := store.Get[projectServerUsage](tx, KindUsage, project)
	switch {
	case err == nil && u.Version == usageVersion:
		return u.ServerCount, nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return ServerCount{}, err
	}
	return countServers(tx, project, "")
}

// ensureUsage returns what project's servers count, recounting them and
// rewriting the usage record in tx when it is missing or of another version.
func ensureUsage(tx store.Tx, project string) (ServerCount, error) {
	u, err := store.Get[projectServerUsage](tx, KindUsage, project)
	missing := errors.Is(err, store.ErrNotFound)
	switch {
	case err == nil && u.Version == usageVersion:
		return u.ServerCount, nil
	case err != nil && !missing:
		return ServerCount{}, err
	}
	sc, err := countServers(tx, project, "")
	if err != nil {
		return ServerCount{}, err
	}
	rec := store.Record{Kind: KindUsage, ID: project, Value: &projectServerUsage{ProjectID: project, Version: usageVersion, ServerCount: sc}}
	if missing {
		err = tx.Create(rec)
	} else {
		err = tx.Update(rec)
	}
	return sc, err
}

// countServers counts project's servers (of user, when set) one by one.
func countServers(tx store.ReadTx, project, user string) (ServerCount, error) {
	// Only what is counted is decoded.
	type counted struct {
		UserID  string `json:"user_id"`
		Deleted bool   `json:"deleted,omitempty"`
		Flavor  struct {
			VCPUs int64 `json:"vcpus"`
			RAM   int64 `json:"ram"`
		} `json:"flavor"`
	}
	servers, err := store.List[counted](tx, KindServer, store.ListOptions{Ref: project})
	if err != nil {
		return ServerCount{}, err
	}
	var sc ServerCount
	for _, sv := range servers {
		if sv.Deleted || (user != "" && sv.UserID != user) {
			continue
		}
		sc.Instances++
		sc.Cores += sv.Flavor.VCPUs
		sc.RAM += sv.Flavor.RAM
	}
	return sc, nil
}

// DefaultQuotas returns the default limits.
func (s *Service) DefaultQuotas(ctx context.Context, project string) (map[string]int64, error) {
	if err := canReadProject(ctx, project); err != nil {
		return nil, err
	}
	var out map[string]int64
	err := s.read(ctx, func(tx store.ReadTx) (err error) {
		out, err = defaults(tx)
		return err
	})
	return out, err
}

func validateLimits(lim map[string]int64) error {
	for k, v := range lim {
		if _, ok := QuotaResources[k]; !ok {
			return badRequest("Invalid input for field/attribute quota_set. Additional properties are not allowed ('%s' was unexpected).", k)
		}
		if v < -1 || v > maxDBInt {
			return badRequest("Invalid input for field/attribute %s. Value: %d. It must be between -1 and %d.", k, v, maxDBInt)
		}
	}
	return nil
}

// UpdateQuotas sets limits of project (or of user in project) (admin).
// Without force a limit below current usage is refused.
func (s *Service) UpdateQuotas(ctx context.Context, project, user string, lim map[string]int64, force bool) (map[string]int64, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	if err := validateLimits(lim); err != nil {
		return nil, err
	}
	var out map[string]int64
	err := s.write(ctx, func(tx store.Tx) error {
		q, err := store.Get[Quota](tx, KindQuota, project)
		create := errors.Is(err, store.ErrNotFound)
		if create {
			q = &Quota{ProjectID: project, Limits: map[string]int64{}}
		} else if err != nil {
			return err
		}
		if !force {
			use, err := projectUsage(tx, project, user)
			if err != nil {
				return err
			}
			for k, v := range lim {
				if v >= 0 && use[k] > v {
					return badRequest("Quota limit %d for %s must be greater than or equal to already used and reserved %d.", v, k, use[k])
				}
			}
		}
		if user != "" {
			if q.Users == nil {
				q.Users = map[string]map[string]int64{}
			}
			if q.Users[user] == nil {
				q.Users[user] = map[string]int64{}
			}
			maps.Copy(q.Users[user], lim)
		} else {
			maps.Copy(q.Limits, lim)
		}
		rec := store.Record{Kind: KindQuota, ID: project, Value: q}
		if create {
			err = tx.Create(rec)
		} else {
			err = tx.Update(rec)
		}
		if err != nil {
			return err
		}
		out, err = effectiveQuota(tx, project, user)
		return err
	})
	return out, err
}

// DeleteQuotas reverts project (or one user's overrides) to the defaults (admin).
func (s *Service) DeleteQuotas(ctx context.Context, project, user string) error {
	if err := requireAdmin(ctx); err != nil {
		return err
	}
	return s.write(ctx, func(tx store.Tx) error {
		if user == "" {
			if err := tx.Delete(KindQuota, project); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			return nil
		}
		q, err := store.Get[Quota](tx, KindQuota, project)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		delete(q.Users, user)
		return tx.Update(store.Record{Kind: KindQuota, ID: project, Value: q})
	})
}

// QuotaClassSet returns the limits of a quota class: the defaults overlaid
// with the class's own (any authenticated caller may read, as in Nova).
func (s *Service) QuotaClassSet(ctx context.Context, class string) (map[string]int64, error) {
	if err := requireReader(ctx); err != nil {
		return nil, err
	}
	out := maps.Clone(QuotaResources)
	err := s.read(ctx, func(tx store.ReadTx) error {
		if class != DefaultQuotaClass {
			d, err := defaults(tx)
			if err != nil {
				return err
			}
			out = d
		}
		c, err := store.Get[QuotaClass](tx, KindQuotaClass, class)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		maps.Copy(out, c.Limits)
		return nil
	})
	return out, err
}

// UpdateQuotaClass sets limits of a quota class (admin).
func (s *Service) UpdateQuotaClass(ctx context.Context, class string, lim map[string]int64) (map[string]int64, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	if err := validateLimits(lim); err != nil {
		return nil, err
	}
	if class == "" || len(class) > 255 {
		return nil, badRequest("Invalid quota class name.")
	}
	err := s.write(ctx, func(tx store.Tx) error {
		c, err := store.Get[QuotaClass](tx, KindQuotaClass, class)
		create := errors.Is(err, store.ErrNotFound)
		if create {
			c = &QuotaClass{ID: class, Limits: map[string]int64{}}
		} else if err != nil {
			return err
		}
		maps.Copy(c.Limits, lim)
		rec := store.Record{Kind: KindQuotaClass, ID: class, Value: c}
		if create {
			return tx.Create(rec)
		}
		return tx.Update(rec)
	})
	if err != nil {
		return nil, err
	}
	return s.QuotaClassSet(ctx, class)
}

// Limits returns the absolute limits and usage of the caller's project (or,
// for an admin, of project).
func (s *Service) Limits(ctx context.Context, project string) (map[string]QuotaUsage, error) {
	c := creds(ctx)
	if project == "" || !c.IsReader() {
		project = c.ProjectID
	}
	out := map[string]QuotaUsage{}
	err := s.read(ctx, func(tx store.ReadTx) error {
		lim, err := effectiveQuota(tx, project, "")
		if err != nil {
			return err
		}
		use, err := projectUsage(tx, project, "")
		if err != nil {
			return err
		}
		for k, l := range lim {
			out[k] = QuotaUsage{Limit: l, InUse: use[k]}
		}
		return nil
	})
	return out, err
}
