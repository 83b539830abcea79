package volume

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"

	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/store"
)

// QuotaDefaults are Cinder's default limits (-1 is unlimited). Per-type
// limits ("volumes_<type>", "gigabytes_<type>", "snapshots_<type>") default
// to -1 for every type.
var QuotaDefaults = map[string]int64{
	"volumes":              10,
	"snapshots":            10,
	"gigabytes":            1000,
	"backups":              10,
	"backup_gigabytes":     1000,
	"groups":               10,
	"per_volume_gigabytes": -1,
}

// perTypeQuotas are the prefixes of per-type limits.
var perTypeQuotas = []string{"volumes_", "gigabytes_", "snapshots_"}

// Quota holds a project's (or, for KindQuotaClass, a class's) overrides.
type Quota struct {
	ID     string           `json:"id"`
	Limits map[string]int64 `json:"limits"`
}

// QuotaUsage is one resource's limit and use.
type QuotaUsage struct {
	Limit, InUse, Reserved, Allocated int64
}

// quotaKeys lists every quota name: the fixed ones and three per type.
func quotaKeys(tx store.ReadTx) (map[string]int64, error) {
	out := maps.Clone(QuotaDefaults)
	types, err := store.List[Type](tx, KindType, store.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, t := range types {
		for _, p := range perTypeQuotas {
			out[p+t.Name] = -1
		}
	}
	return out, nil
}

func classLimits(tx store.ReadTx, class string) (map[string]int64, error) {
	out, err := quotaKeys(tx)
	if err != nil {
		return nil, err
	}
	c, err := store.Get[Quota](tx, KindQuotaClass, class)
	if errors.Is(err, store.ErrNotFound) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	for k, v := range c.Limits {
		if _, ok := out[k]; ok {
			out[k] = v
		}
	}
	return out, nil
}

// limits returns project's effective limits.
func limits(tx store.ReadTx, project string) (map[string]int64, error) {
	out, err := classLimits(tx, "default")
	if err != nil {
		return nil, err
	}
	q, err := store.Get[Quota](tx, KindQuota, project)
	if errors.Is(err, store.ErrNotFound) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	for k, v := range q.Limits {
		if _, ok := out[k]; ok {
			out[k] = v
		}
	}
	return out, nil
}

// usage counts what project holds, from the records themselves (no
// counters to drift): volumes and snapshots count until their record is
// gone, snapshots' sizes count against gigabytes as in Cinder.
func usage(tx store.ReadTx, project string) (map[string]int64, error) {
	use := map[string]int64{}
	typeName := map[string]string{}
	types, err := store.List[Type](tx, KindType, store.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, t := range types {
		typeName[t.ID] = t.Name
	}
	vols, err := store.List[Volume](tx, KindVolume, store.ListOptions{Ref: project})
	if err != nil {
		return nil, err
	}
	for _, v := range vols {
		use["volumes"]++
		use["gigabytes"] += v.Size
		if n := typeName[v.TypeID]; n != "" {
			use["volumes_"+n]++
			use["gigabytes_"+n] += v.Size
		}
	}
	snaps, err := store.List[Snapshot](tx, KindSnapshot, store.ListOptions{Ref: project})
	if err != nil {
		return nil, err
	}
	for _, sn := range snaps {
		use["snapshots"]++
		use["gigabytes"] += sn.Size
		if n := typeName[sn.TypeID]; n != "" {
			use["snapshots_"+n]++
			use["gigabytes_"+n] += sn.Size
		}
	}
	backups, err := store.List[Backup](tx, KindBackup, store.ListOptions{Ref: project})
	if err != nil {
		return nil, err
	}
	for _, b := range backups {
		use["backups"]++
		use["backup_gigabytes"] += b.Size
	}
	groups, err := store.List[Group](tx, KindGroup, store.ListOptions{Ref: project})
	if err != nil {
		return nil, err
	}
	use["groups"] = int64(len(groups))
	return use, nil
}

// checkQuota fails with Cinder's 413 if adding delta to project's use
// passes a limit. Called inside the write transaction that adds the
// resources, so concurrent requests cannot both pass (writers are
// serialised).
func checkQuota(tx store.ReadTx, project string, delta map[string]int64) error {
	lim, err := limits(tx, project)
	if err != nil {
		return err
	}
	// Counting reads every volume, snapshot and backup of the project:
	// skip it when nothing asked for has a limit (unlimited projects stay
	// O(1) per create; a limited one holds at most its limit).
	limited := false
	for k, d := range delta {
		if l, ok := lim[k]; ok && d > 0 && l >= 0 {
			limited = true
		}
	}
	if !limited {
		return nil
	}
	use, err := usage(tx, project)
	if err != nil {
		return err
	}
	keys := slices.Sorted(maps.Keys(delta))
	for _, k := range keys {
		d := delta[k]
		l, ok := lim[k]
		if d <= 0 || !ok || l < 0 || use[k]+d <= l {
			continue
		}
		switch {
		case k == "gigabytes" || strings.HasPrefix(k, "gigabytes_"):
			return fault.New(fault.OverLimit, "VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed %s quota. Requested %dG, quota is %dG and %dG has been consumed.", k, d, l, use[k])
		case k == "backup_gigabytes":
			return fault.New(fault.OverLimit, "VolumeBackupSizeExceedsAvailableQuota: Requested backup exceeds allowed Backup gigabytes quota. Requested %dG, quota is %dG and %dG has been consumed.", d, l, use[k])
		case k == "snapshots" || strings.HasPrefix(k, "snapshots_"):
			return fault.New(fault.OverLimit, "SnapshotLimitExceeded: Maximum number of snapshots allowed (%d) exceeded", l)
		case k == "backups":
			return fault.New(fault.OverLimit, "BackupLimitExceeded: Maximum number of backups allowed (%d) exceeded", l)
		default:
			return fault.New(fault.OverLimit, "VolumeLimitExceeded: Maximum number of volumes allowed (%d) exceeded for quota '%s'.", l, k)
		}
	}
	return nil
}

// checkPerVolume enforces per_volume_gigabytes.
func checkPerVolume(tx store.ReadTx, project string, size int64) error {
	lim, err := limits(tx, project)
	if err != nil {
		return err
	}
	if l := lim["per_volume_gigabytes"]; l >= 0 && size > l {
		return fault.New(fault.OverLimit, "VolumeSizeExceedsLimit: Requested volume size %dG is larger than maximum allowed limit %dG.", size, l)
	}
	return nil
}

// volumeDelta is what a new volume of size and type adds.
func volumeDelta(typeName string, size int64) map[string]int64 {
	d := map[string]int64{"volumes": 1, "gigabytes": size}
	if typeName != "" {
		d["volumes_"+typeName] = 1
		d["gigabytes_"+typeName] = size
	}
	return d
}

func (s *Service) canReadQuota(ctx context.Context, project string) error {
	c, err := creds(ctx)
	if err != nil {
		return err
	}
	if canSee(c, project) {
		return nil
	}
	return forbidden()
}

// QuotaSet returns project's limits and usage.
func (s *Service) QuotaSet(ctx context.Context, project string) (map[string]QuotaUsage, error) {
	if err := s.canReadQuota(ctx, project); err != nil {
		return nil, err
	}
	out := map[string]QuotaUsage{}
	err := s.st.Read(ctx, func(tx store.ReadTx) error {
		lim, err := limits(tx, project)
		if err != nil {
			return err
		}
		use, err := usage(tx, project)
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

// QuotaDefaultsFor returns the default limits (the "default" class).
func (s *Service) QuotaDefaultsFor(ctx context.Context, project string) (map[string]int64, error) {
	if err := s.canReadQuota(ctx, project); err != nil {
		return nil, err
	}
	var out map[string]int64
	err := s.st.Read(ctx, func(tx store.ReadTx) (err error) {
		out, err = classLimits(tx, "default")
		return err
	})
	return out, err
}

// UpdateQuotaSet sets limits of project (admin). Unknown names and values
// below -1 are 400; so is a limit below what the project already uses.
func (s *Service) UpdateQuotaSet(ctx context.Context, project string, set map[string]int64) (map[string]int64, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	var out map[string]int64
	err := s.st.Write(ctx, func(tx store.Tx) error {
		keys, err := quotaKeys(tx)
		if err != nil {
			return err
		}
		var bad []string
		for k, v := range set {
			if _, ok := keys[k]; !ok {
				bad = append(bad, k)
				continue
			}
			if v < -1 {
				return badRequest("Invalid input received: Quota limit %d for %s must be -1 or greater.", v, k)
			}
		}
		if len(bad) > 0 {
			slices.Sort(bad)
			return badRequest("Bad key(s) in quota set: %s", strings.Join(bad, ","))
		}
		use, err := usage(tx, project)
		if err != nil {
			return err
		}
		for k, v := range set {
			if v >= 0 && use[k] > v && k != "per_volume_gigabytes" {
				return badRequest("Invalid input received: Quota %s limit must be equal or greater than existing resources. Current usage is %d and the requested limit is %d.", k, use[k], v)
			}
		}
		q, err := store.Get[Quota](tx, KindQuota, project)
		create := errors.Is(err, store.ErrNotFound)
		if create {
			q, err = &Quota{ID: project, Limits: map[string]int64{}}, nil
		}
		if err != nil {
			return err
		}
		maps.Copy(q.Limits, set)
		rec := store.Record{Kind: KindQuota, ID: project, Value: q}
		if create {
			err = tx.Create(rec)
		} else {
			err = tx.Update(rec)
		}
		if err != nil {
			return err
		}
		out, err = limits(tx, project)
		return err
	})
	return out, err
}

// DeleteQuotaSet drops project's overrides (admin).
func (s *Service) DeleteQuotaSet(ctx context.Context, project string) error {
	if _, err := requireAdmin(ctx); err != nil {
		return err
	}
	return s.st.Write(ctx, func(tx store.Tx) error {
		if err := tx.Delete(KindQuota, project); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return nil
	})
}

// QuotaClass returns a class's limits (admin).
func (s *Service) QuotaClass(ctx context.Context, class string) (map[string]int64, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	var out map[string]int64
	err := s.st.Read(ctx, func(tx store.ReadTx) (err error) {
		out, err = classLimits(tx, class)
		return err
	})
	return out, err
}

// UpdateQuotaClass sets a class's limits (admin).
func (s *Service) UpdateQuotaClass(ctx context.Context, class string, set map[string]int64) (map[string]int64, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	var out map[string]int64
	err := s.st.Write(ctx, func(tx store.Tx) error {
		keys, err := quotaKeys(tx)
		if err != nil {
			return err
		}
		for k, v := range set {
			if _, ok := keys[k]; !ok {
				return badRequest("Bad key(s) in quota set: %s", k)
			}
			if v < -1 {
				return badRequest("Invalid input received: Quota limit %d for %s must be -1 or greater.", v, k)
			}
		}
		q, err := store.Get[Quota](tx, KindQuotaClass, class)
		create := errors.Is(err, store.ErrNotFound)
		if create {
			q, err = &Quota{ID: class, Limits: map[string]int64{}}, nil
		}
		if err != nil {
			return err
		}
		maps.Copy(q.Limits, set)
		rec := store.Record{Kind: KindQuotaClass, ID: class, Value: q}
		if create {
			err = tx.Create(rec)
		} else {
			err = tx.Update(rec)
		}
		if err != nil {
			return err
		}
		out, err = classLimits(tx, class)
		return err
	})
	return out, err
}
