package network

import (
	"context"
	"net/netip"

	"github.com/nubo-cloud/nubo/internal/policy"
	"github.com/nubo-cloud/nubo/internal/store"
)

// SubnetPoolSpec is a create or update request.
type SubnetPoolSpec struct {
	Name             *string   `json:"name"`
	Description      *string   `json:"description"`
	ProjectID        string    `json:"project_id"`
	TenantID         string    `json:"tenant_id"`
	Prefixes         *[]string `json:"prefixes"`
	DefaultPrefixLen *int      `json:"default_prefixlen"`
	MinPrefixLen     *int      `json:"min_prefixlen"`
	MaxPrefixLen     *int      `json:"max_prefixlen"`
	Shared           *bool     `json:"shared"`
	IsDefault        *bool     `json:"is_default"`
	DefaultQuota     *int      `json:"default_quota"`
	AddressScopeID   *string   `json:"address_scope_id"`
	Tags             []string  `json:"tags"`
	IfRevision       *int64    `json:"-"`
}

func (s *Service) getPool(ctx context.Context, tx store.ReadTx, id string) (*SubnetPool, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	p, err := store.Get[SubnetPool](tx, kindSubnetPool, id)
	if isNotFound(err) || err == nil && !visible(c, p.ProjectID) && !p.Shared {
		return nil, notFound("SubnetPoolNotFound", "Subnet pool", id)
	}
	return p, err
}

func applyPoolSpec(p *SubnetPool, spec SubnetPoolSpec) error {
	if spec.Name != nil {
		p.Name = *spec.Name
	}
	if spec.Description != nil {
		p.Description = *spec.Description
	}
	if spec.Prefixes != nil {
		var out []string
		for _, s := range *spec.Prefixes {
			pr, err := netip.ParsePrefix(s)
			if err != nil {
				return invalidInput("'%s' is not a valid IP subnet", s)
			}
			v := ver(pr.Addr())
			if p.IPVersion != 0 && p.IPVersion != v {
				return invalidInput("Mixed IP versions in prefixes")
			}
			p.IPVersion = v
			out = append(out, pr.Masked().String())
		}
		if len(out) == 0 {
			return invalidInput("prefixes must not be empty")
		}
		p.Prefixes = out
	}
	maxLen := 32
	if p.IPVersion == 6 {
		maxLen = 128
	}
	if p.MaxPrefixLen == 0 {
		p.MaxPrefixLen = maxLen
	}
	if spec.MinPrefixLen != nil {
		p.MinPrefixLen = *spec.MinPrefixLen
	}
	if spec.MaxPrefixLen != nil {
		p.MaxPrefixLen = *spec.MaxPrefixLen
	}
	if spec.DefaultPrefixLen != nil {
		p.DefaultPrefixLen = *spec.DefaultPrefixLen
	}
	if p.MinPrefixLen == 0 {
		p.MinPrefixLen = 8
		if p.IPVersion == 6 {
			p.MinPrefixLen = 64
		}
	}
	if p.DefaultPrefixLen == 0 {
		p.DefaultPrefixLen = p.MinPrefixLen
	}
	if p.MinPrefixLen > p.MaxPrefixLen || p.DefaultPrefixLen < p.MinPrefixLen || p.DefaultPrefixLen > p.MaxPrefixLen || p.MaxPrefixLen > maxLen {
		return invalidInput("Illegal prefix bounds: min_prefixlen=%d, default_prefixlen=%d, max_prefixlen=%d", p.MinPrefixLen, p.DefaultPrefixLen, p.MaxPrefixLen)
	}
	if spec.DefaultQuota != nil {
		p.DefaultQuota = spec.DefaultQuota
	}
	if spec.AddressScopeID != nil {
		p.AddressScopeID = *spec.AddressScopeID
	}
	return nil
}

// CreateSubnetPool creates a pool.
func (s *Service) CreateSubnetPool(ctx context.Context, spec SubnetPoolSpec) (*SubnetPool, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	project, err := ownerFor(c, spec.ProjectID, spec.TenantID)
	if err != nil {
		return nil, err
	}
	if !c.IsAdmin() && (spec.Shared != nil && *spec.Shared || spec.IsDefault != nil && *spec.IsDefault) {
		return nil, forbidden("rule:create_subnetpool:shared is disallowed by policy")
	}
	if spec.Prefixes == nil {
		return nil, badRequest("Failed to parse request. Required attribute 'prefixes' not specified")
	}
	p := &SubnetPool{Meta: s.newMeta(project, str(spec.Name), str(spec.Description)), Shared: boolOr(spec.Shared, false), IsDefault: boolOr(spec.IsDefault, false)}
	if spec.Tags != nil {
		p.Tags = spec.Tags
	}
	if err := applyPoolSpec(p, spec); err != nil {
		return nil, err
	}
	err = s.write(ctx, func(tx store.Tx) error {
		if err := s.charge(tx, project, "subnetpool", 1); err != nil {
			return err
		}
		return put(tx, kindSubnetPool, project, p, nil, true)
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// GetSubnetPool returns a visible pool.
func (s *Service) GetSubnetPool(ctx context.Context, id string) (*SubnetPool, error) {
	var p *SubnetPool
	err := s.read(ctx, func(tx store.ReadTx) error {
		var err error
		p, err = s.getPool(ctx, tx, id)
		return err
	})
	return p, err
}

// ListSubnetPools returns the visible pools.
func (s *Service) ListSubnetPools(ctx context.Context) ([]SubnetPool, error) {
	return listVisible(ctx, s, kindSubnetPool, func(c *policy.Credentials, p *SubnetPool) bool { return visible(c, p.ProjectID) || p.Shared })
}

// UpdateSubnetPool changes a pool (prefixes may only grow).
func (s *Service) UpdateSubnetPool(ctx context.Context, id string, spec SubnetPoolSpec) (*SubnetPool, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	var p *SubnetPool
	err = s.write(ctx, func(tx store.Tx) error {
		var err error
		if p, err = s.getPool(ctx, tx, id); err != nil {
			return err
		}
		if !canWrite(c, p.ProjectID) {
			return forbidden("rule:update_subnetpool is disallowed by policy")
		}
		if err := s.touch(&p.Meta, spec.IfRevision); err != nil {
			return err
		}
		if spec.IsDefault != nil {
			if !c.IsAdmin() {
				return forbidden("rule:update_subnetpool:is_default is disallowed by policy")
			}
			p.IsDefault = *spec.IsDefault
		}
		if err := applyPoolSpec(p, spec); err != nil {
			return err
		}
		return put(tx, kindSubnetPool, p.ProjectID, p, nil, false)
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// DeleteSubnetPool deletes a pool no subnet uses.
func (s *Service) DeleteSubnetPool(ctx context.Context, id string) error {
	c, err := creds(ctx)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx store.Tx) error {
		p, err := s.getPool(ctx, tx, id)
		if err != nil {
			return err
		}
		if !canWrite(c, p.ProjectID) {
			return forbidden("rule:delete_subnetpool is disallowed by policy")
		}
		subnets, err := store.List[Subnet](tx, kindSubnet, store.ListOptions{})
		if err != nil {
			return err
		}
		for _, sn := range subnets {
			if sn.SubnetPoolID == id {
				return conflict("SubnetPoolInUse", "Unable to complete operation on subnetpool %s. Subnets are still allocated.", id)
			}
		}
		if err := s.charge(tx, p.ProjectID, "subnetpool", -1); err != nil {
			return err
		}
		return tx.Delete(kindSubnetPool, id)
	})
}

// allocateFromPool returns the first free prefix of length prefixLen in the
// pool (or the default pool of the IP version).
func (s *Service) allocateFromPool(tx store.Tx, c *policy.Credentials, poolID string, ipVersion, prefixLen int) (string, string, error) {
	all, err := store.List[SubnetPool](tx, kindSubnetPool, store.ListOptions{})
	if err != nil {
		return "", "", err
	}
	var pool *SubnetPool
	for i := range all {
		p := &all[i]
		if poolID != "" && p.ID == poolID || poolID == "" && p.IsDefault && p.IPVersion == ipVersion {
			pool = p
		}
	}
	if pool == nil || !visible(c, pool.ProjectID) && !pool.Shared {
		if poolID == "" {
			return "", "", badRequest("Bad subnets request: No default subnetpool found for IPv%d.", ipVersion)
		}
		return "", "", notFound("SubnetPoolNotFound", "Subnet pool", poolID)
	}
	if prefixLen == 0 {
		prefixLen = pool.DefaultPrefixLen
	}
	if prefixLen < pool.MinPrefixLen || prefixLen > pool.MaxPrefixLen {
		return "", "", badRequest("Unable to allocate subnet with prefix length %d, minimum allowed prefix is %d, maximum is %d.", prefixLen, pool.MinPrefixLen, pool.MaxPrefixLen)
	}
	subnets, err := store.List[Subnet](tx, kindSubnet, store.ListOptions{})
	if err != nil {
		return "", "", err
	}
	var taken []netip.Prefix
	for _, sn := range subnets {
		if sn.SubnetPoolID == pool.ID {
			taken = append(taken, netip.MustParsePrefix(sn.CIDR))
		}
	}
	for _, ps := range pool.Prefixes {
		base := netip.MustParsePrefix(ps)
		if prefixLen < base.Bits() {
			continue
		}
		cand := netip.PrefixFrom(base.Addr(), prefixLen)
		for i := 0; i < 1<<16 && base.Contains(cand.Addr()); i++ {
			free := true
			for _, t := range taken {
				if t.Overlaps(cand) {
					free = false
					break
				}
			}
			if free {
				return cand.String(), pool.ID, nil
			}
			next := lastOf(cand).Next()
			if !next.IsValid() {
				break
			}
			cand = netip.PrefixFrom(next, prefixLen)
		}
	}
	return "", "", conflict("SubnetAllocationError", "Failed to allocate subnet: Insufficient prefix space to allocate subnet size /%d.", prefixLen)
}

func lastOf(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := range b {
		for j := 0; j < 8; j++ {
			if i*8+j >= p.Bits() {
				b[i] |= 0x80 >> j
			}
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}
