package firewalltest

import (
	"context"
	"sync"

	"github.com/nubo-cloud/nubo/internal/driver/firewall"
)

// Fake is an in-memory firewall.Firewall.
type Fake struct {
	// ApplyFunc, when set, runs first and its error is returned.
	ApplyFunc func(ctx context.Context, ns string, rs firewall.Ruleset) error

	mu       sync.Mutex
	rulesets map[string]firewall.Ruleset
}

var _ firewall.Firewall = (*Fake)(nil)

// Ruleset returns what was last applied to ns and whether anything was.
func (f *Fake) Ruleset(ns string) (firewall.Ruleset, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rs, ok := f.rulesets[ns]
	return rs, ok
}

// Apply implements firewall.Firewall.
func (f *Fake) Apply(ctx context.Context, ns string, rs firewall.Ruleset) error {
	if f.ApplyFunc != nil {
		if err := f.ApplyFunc(ctx, ns, rs); err != nil {
			return err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rulesets == nil {
		f.rulesets = map[string]firewall.Ruleset{}
	}
	if len(rs.Ports) == 0 && rs.NAT == nil {
		delete(f.rulesets, ns)
		return nil
	}
	f.rulesets[ns] = rs
	return nil
}

// Tables implements firewall.Firewall with the tables the real driver
// would hold for the stored ruleset.
func (f *Fake) Tables(ctx context.Context, ns string) ([]firewall.Table, error) {
	rs, _ := f.Ruleset(ns)
	var ts []firewall.Table
	if len(rs.Ports) > 0 {
		ts = append(ts, firewall.Table{Family: "bridge", Name: "nubo"}, firewall.Table{Family: "inet", Name: "nubo"})
	}
	if rs.NAT != nil {
		ts = append(ts, firewall.Table{Family: "ip", Name: "nubo_nat"})
	}
	return ts, nil
}

// DeleteTable implements firewall.Firewall.
func (f *Fake) DeleteTable(ctx context.Context, ns string, t firewall.Table) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	rs := f.rulesets[ns]
	switch t {
	case firewall.Table{Family: "ip", Name: "nubo_nat"}:
		rs.NAT = nil
	default:
		rs.Ports = nil
	}
	f.rulesets[ns] = rs
	return nil
}
