package network

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/nubo-cloud/nubo/internal/store"
)

// SecurityGroupSpec is a create or update request.
type SecurityGroupSpec struct {
	Name        *string  `json:"name"`
	Description *string  `json:"description"`
	ProjectID   string   `json:"project_id"`
	TenantID    string   `json:"tenant_id"`
	Stateful    *bool    `json:"stateful"`
	Tags        []string `json:"tags"`
	IfRevision  *int64   `json:"-"`
}

// Protocol is a rule's protocol as sent: a name, a number, or null.
type Protocol string

// UnmarshalJSON accepts a string, a number or null.
func (p *Protocol) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*p = ""
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*p = Protocol(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*p = Protocol(n.String())
	return nil
}

// RuleSpec is a rule create request.
type RuleSpec struct {
	SecurityGroupID string   `json:"security_group_id"`
	Direction       string   `json:"direction"`
	EtherType       string   `json:"ethertype"`
	Protocol        Protocol `json:"protocol"`
	PortRangeMin    *int     `json:"port_range_min"`
	PortRangeMax    *int     `json:"port_range_max"`
	RemoteIPPrefix  *string  `json:"remote_ip_prefix"`
	RemoteGroupID   *string  `json:"remote_group_id"`
	Description     *string  `json:"description"`
	ProjectID       string   `json:"project_id"`
	TenantID        string   `json:"tenant_id"`
}

func defaultKey(project string) string { return "default:" + project }

func sgUnique(g *SecurityGroup) []string {
	if g.Name == "default" {
		return []string{defaultKey(g.ProjectID)}
	}
	return nil
}

// ensureDefaultSG returns the project's default group, creating it (with
// upstream's four rules) on first use.
func (s *Service) ensureDefaultSG(tx store.Tx, project string) (string, error) {
	if id, err := tx.Lookup(kindSecGroup, defaultKey(project)); err == nil {
		return id, nil
	} else if !isNotFound(err) {
		return "", err
	}
	g := &SecurityGroup{Meta: s.newMeta(project, "default", "Default security group"), Stateful: true}
	if err := put(tx, kindSecGroup, project, g, sgUnique(g), true); err != nil {
		return "", err
	}
	s.count(tx, project, "security_group", 1)
	for _, r := range []SecurityGroupRule{
		{Direction: "egress", EtherType: "IPv4"},
		{Direction: "egress", EtherType: "IPv6"},
		{Direction: "ingress", EtherType: "IPv4", RemoteGroupID: g.ID},
		{Direction: "ingress", EtherType: "IPv6", RemoteGroupID: g.ID},
	} {
		r.Meta = s.newMeta(project, "", "")
		r.SecurityGroupID = g.ID
		if err := put(tx, kindSGRule, g.ID, &r, []string{ruleKey(&r)}, true); err != nil {
			return "", err
		}
		s.count(tx, project, "security_group_rule", 1)
	}
	return g.ID, nil
}

// EnsureDefaultSecurityGroup creates the caller's default group if missing.
func (s *Service) EnsureDefaultSecurityGroup(ctx context.Context) error {
	c, err := creds(ctx)
	if err != nil || c.ProjectID == "" {
		return err
	}
	found := false
	_ = s.read(ctx, func(tx store.ReadTx) error {
		_, err := tx.Lookup(kindSecGroup, defaultKey(c.ProjectID))
		found = err == nil
		return nil
	})
	if found {
		return nil
	}
	return s.write(ctx, func(tx store.Tx) error {
		_, err := s.ensureDefaultSG(tx, c.ProjectID)
		return err
	})
}

func (s *Service) getSG(ctx context.Context, tx store.ReadTx, id string) (*SecurityGroup, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	g, err := store.Get[SecurityGroup](tx, kindSecGroup, id)
	if isNotFound(err) || err == nil && !visible(c, g.ProjectID) && !g.Shared {
		return nil, notFound("SecurityGroupNotFound", "Security group", id)
	}
	return g, err
}

// CreateSecurityGroup creates a group with the two default egress rules.
func (s *Service) CreateSecurityGroup(ctx context.Context, spec SecurityGroupSpec) (*SecurityGroup, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	project, err := ownerFor(c, spec.ProjectID, spec.TenantID)
	if err != nil {
		return nil, err
	}
	g := &SecurityGroup{Meta: s.newMeta(project, str(spec.Name), str(spec.Description)), Stateful: boolOr(spec.Stateful, true)}
	if spec.Tags != nil {
		g.Tags = spec.Tags
	}
	err = s.write(ctx, func(tx store.Tx) error {
		if g.Name == "default" {
			if _, err := s.ensureDefaultSG(tx, project); err != nil {
				return err
			}
			return conflict("SecurityGroupDefaultAlreadyExists", "Default security group already exists.")
		}
		if _, err := s.ensureDefaultSG(tx, project); err != nil {
			return err
		}
		if err := s.charge(tx, project, "security_group", 1); err != nil {
			return err
		}
		if err := put(tx, kindSecGroup, project, g, sgUnique(g), true); err != nil {
			return err
		}
		for _, et := range []string{"IPv4", "IPv6"} {
			r := &SecurityGroupRule{Meta: s.newMeta(project, "", ""), SecurityGroupID: g.ID, Direction: "egress", EtherType: et}
			if err := put(tx, kindSGRule, g.ID, r, []string{ruleKey(r)}, true); err != nil {
				return err
			}
			s.count(tx, project, "security_group_rule", 1)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// GetSecurityGroup returns a visible group and its rules.
func (s *Service) GetSecurityGroup(ctx context.Context, id string) (*SecurityGroup, []SecurityGroupRule, error) {
	var g *SecurityGroup
	var rules []SecurityGroupRule
	err := s.read(ctx, func(tx store.ReadTx) error {
		var err error
		if g, err = s.getSG(ctx, tx, id); err != nil {
			return err
		}
		rules, err = store.List[SecurityGroupRule](tx, kindSGRule, store.ListOptions{Ref: id})
		return err
	})
	return g, rules, err
}

// ListSecurityGroups returns the visible groups and every group's rules.
func (s *Service) ListSecurityGroups(ctx context.Context) ([]SecurityGroup, map[string][]SecurityGroupRule, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, nil, err
	}
	if err := s.EnsureDefaultSecurityGroup(ctx); err != nil {
		return nil, nil, err
	}
	var out []SecurityGroup
	rules := map[string][]SecurityGroupRule{}
	err = s.read(ctx, func(tx store.ReadTx) error {
		all, err := store.List[SecurityGroup](tx, kindSecGroup, store.ListOptions{})
		if err != nil {
			return err
		}
		for _, g := range all {
			if visible(c, g.ProjectID) || g.Shared {
				out = append(out, g)
			}
		}
		rs, err := store.List[SecurityGroupRule](tx, kindSGRule, store.ListOptions{})
		for _, r := range rs {
			rules[r.SecurityGroupID] = append(rules[r.SecurityGroupID], r)
		}
		return err
	})
	return out, rules, err
}

// UpdateSecurityGroup renames or re-describes a group.
func (s *Service) UpdateSecurityGroup(ctx context.Context, id string, spec SecurityGroupSpec) (*SecurityGroup, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	var g *SecurityGroup
	err = s.write(ctx, func(tx store.Tx) error {
		var err error
		if g, err = s.getSG(ctx, tx, id); err != nil {
			return err
		}
		if !canWrite(c, g.ProjectID) {
			return forbidden("rule:update_security_group is disallowed by policy")
		}
		if spec.Name != nil && *spec.Name != g.Name && (g.Name == "default" || *spec.Name == "default") {
			return conflict("SecurityGroupCannotUpdateDefault", "Updating default security group not allowed.")
		}
		if err := s.touch(&g.Meta, spec.IfRevision); err != nil {
			return err
		}
		if spec.Name != nil {
			g.Name = *spec.Name
		}
		if spec.Description != nil {
			g.Description = *spec.Description
		}
		if spec.Stateful != nil {
			g.Stateful = *spec.Stateful
		}
		return put(tx, kindSecGroup, g.ProjectID, g, sgUnique(g), false)
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// DeleteSecurityGroup deletes a group not used by any port; the default
// group only by an admin.
func (s *Service) DeleteSecurityGroup(ctx context.Context, id string) error {
	c, err := creds(ctx)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx store.Tx) error {
		g, err := s.getSG(ctx, tx, id)
		if err != nil {
			return err
		}
		if !canWrite(c, g.ProjectID) {
			return forbidden("rule:delete_security_group is disallowed by policy")
		}
		if g.Name == "default" && !c.IsAdmin() {
			return conflict("SecurityGroupCannotRemoveDefault", "Removing default security group not allowed.")
		}
		ports, err := store.List[Port](tx, kindPort, store.ListOptions{})
		if err != nil {
			return err
		}
		for _, p := range ports {
			if slices.Contains(p.SecurityGroups, id) {
				return conflict("SecurityGroupInUse", "Security Group %s in use.", id)
			}
		}
		rules, err := store.List[SecurityGroupRule](tx, kindSGRule, store.ListOptions{Ref: id})
		if err != nil {
			return err
		}
		for _, r := range rules {
			if err := tx.Delete(kindSGRule, r.ID); err != nil {
				return err
			}
			s.count(tx, r.ProjectID, "security_group_rule", -1)
		}
		s.count(tx, g.ProjectID, "security_group", -1)
		return tx.Delete(kindSecGroup, id)
	})
}

var protocolNames = map[string]int{
	"ah": 51, "dccp": 33, "egp": 8, "esp": 50, "gre": 47, "hopopt": 0, "icmp": 1, "icmpv6": 58, "igmp": 2,
	"ipip": 4, "ipv6-encap": 41, "ipv6-frag": 44, "ipv6-icmp": 58, "ipv6-nonxt": 59, "ipv6-opts": 60,
	"ipv6-route": 43, "ospf": 89, "pgm": 113, "rsvp": 46, "sctp": 132, "tcp": 6, "udp": 17, "udplite": 136, "vrrp": 112,
}

// protoNumber returns the protocol number, -1 for any.
func protoNumber(p string) (int, error) {
	if p == "" || p == "any" {
		return -1, nil
	}
	if n, ok := protocolNames[strings.ToLower(p)]; ok {
		return n, nil
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 0 || n > 255 {
		return 0, withType(badRequest("Security group rule protocol %s not supported. Only protocol values [None, ah, dccp, egp, esp, gre, icmp, igmp, ipv6-encap, ipv6-frag, ipv6-icmp, ipv6-nonxt, ipv6-opts, ipv6-route, ospf, pgm, rsvp, sctp, tcp, udp, udplite, vrrp] and integer representations [0 to 255] are supported.", p), "SecurityGroupRuleInvalidProtocol")
	}
	return n, nil
}

func ruleKey(r *SecurityGroupRule) string {
	n, _ := protoNumber(r.Protocol)
	prefix := r.RemoteIPPrefix
	if p, err := netip.ParsePrefix(prefix); err == nil {
		prefix = p.Masked().String()
		if p.Bits() == 0 {
			prefix = ""
		}
	}
	ip := func(v *int) string {
		if v == nil {
			return "-"
		}
		return strconv.Itoa(*v)
	}
	return fmt.Sprintf("rule:%s/%s/%s/%d/%s/%s/%s/%s", r.SecurityGroupID, r.Direction, r.EtherType, n, ip(r.PortRangeMin), ip(r.PortRangeMax), prefix, r.RemoteGroupID)
}

func validateRulePorts(proto int, min, max *int) error {
	switch proto {
	case 6, 17, 132, 33, 136:
		for _, v := range []*int{min, max} {
			if v != nil && (*v < 0 || *v > 65535) {
				return invalidInput("Invalid value for port %d", *v)
			}
		}
		if max != nil && (min == nil || *min > *max) || min != nil && max != nil && *min > *max {
			return withType(badRequest("For TCP/UDP protocols, port_range_min must be <= port_range_max"), "SecurityGroupInvalidPortRange")
		}
		if min != nil && max == nil {
			return withType(badRequest("For TCP/UDP protocols, port_range_min must be <= port_range_max"), "SecurityGroupInvalidPortRange")
		}
	case 1, 58:
		if min != nil && (*min < 0 || *min > 255) {
			return withType(badRequest("Invalid value for ICMP type (port-range-min): %d", *min), "SecurityGroupInvalidIcmpValue")
		}
		if max != nil && (*max < 0 || *max > 255) {
			return withType(badRequest("Invalid value for ICMP code (port-range-max): %d", *max), "SecurityGroupInvalidIcmpValue")
		}
		if max != nil && min == nil {
			return withType(badRequest("ICMP code (port-range-max) %d is provided but ICMP type (port-range-min) is missing.", *max), "SecurityGroupMissingIcmpType")
		}
	default:
		if min != nil || max != nil {
			return badRequest("Port range is only supported for TCP, UDP, UDPLITE, SCTP, DCCP and ICMP protocols")
		}
	}
	return nil
}

func (s *Service) getRule(ctx context.Context, tx store.ReadTx, id string) (*SecurityGroupRule, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	r, err := store.Get[SecurityGroupRule](tx, kindSGRule, id)
	if isNotFound(err) || err == nil && !visible(c, r.ProjectID) {
		if err == nil {
			// The owner of the group sees rules others added to it.
			if g, gerr := store.Get[SecurityGroup](tx, kindSecGroup, r.SecurityGroupID); gerr == nil && visible(c, g.ProjectID) {
				return r, nil
			}
		}
		return nil, notFound("SecurityGroupRuleNotFound", "Security group rule", id)
	}
	return r, err
}

// CreateRule adds a rule; an identical rule is a 409 SecurityGroupRuleExists.
func (s *Service) CreateRule(ctx context.Context, spec RuleSpec) (*SecurityGroupRule, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	if spec.Direction != "ingress" && spec.Direction != "egress" {
		return nil, invalidInput("'%s' is not in ['ingress', 'egress']", spec.Direction)
	}
	if spec.EtherType == "" {
		spec.EtherType = "IPv4"
	}
	if spec.EtherType != "IPv4" && spec.EtherType != "IPv6" {
		return nil, invalidInput("'%s' is not in ['IPv4', 'IPv6']", spec.EtherType)
	}
	proto, err := protoNumber(string(spec.Protocol))
	if err != nil {
		return nil, err
	}
	if err := validateRulePorts(proto, spec.PortRangeMin, spec.PortRangeMax); err != nil {
		return nil, err
	}
	prefix, group := str(spec.RemoteIPPrefix), str(spec.RemoteGroupID)
	if prefix != "" && group != "" {
		return nil, withType(badRequest("Only remote_ip_prefix or remote_group_id may be provided."), "SecurityGroupRemoteGroupAndRemoteIpPrefix")
	}
	if prefix != "" {
		p, err := netip.ParsePrefix(prefix)
		if err != nil {
			a, aerr := netip.ParseAddr(prefix)
			if aerr != nil {
				return nil, invalidInput("'%s' is not a valid IP subnet", prefix)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if (ver(p.Addr()) == 4) != (spec.EtherType == "IPv4") {
			return nil, invalidInput("Conflicting value ethertype %s for CIDR %s", spec.EtherType, prefix)
		}
	}
	var r *SecurityGroupRule
	err = s.write(ctx, func(tx store.Tx) error {
		g, err := s.getSG(ctx, tx, spec.SecurityGroupID)
		if err != nil {
			return err
		}
		if !canWrite(c, g.ProjectID) {
			return forbidden("rule:create_security_group_rule is disallowed by policy")
		}
		if group != "" {
			if _, err := s.getSG(ctx, tx, group); err != nil {
				return err
			}
		}
		project := g.ProjectID
		if spec.ProjectID != "" || spec.TenantID != "" {
			if project, err = ownerFor(c, spec.ProjectID, spec.TenantID); err != nil {
				return err
			}
		}
		r = &SecurityGroupRule{Meta: s.newMeta(project, "", str(spec.Description)), SecurityGroupID: g.ID, Direction: spec.Direction,
			EtherType: spec.EtherType, Protocol: string(spec.Protocol), PortRangeMin: spec.PortRangeMin, PortRangeMax: spec.PortRangeMax,
			RemoteIPPrefix: prefix, RemoteGroupID: group}
		if (proto == 6 || proto == 17 || proto == 132) && r.PortRangeMin != nil && r.PortRangeMax == nil {
			r.PortRangeMax = r.PortRangeMin
		}
		if err := s.charge(tx, project, "security_group_rule", 1); err != nil {
			return err
		}
		if err := put(tx, kindSGRule, g.ID, r, []string{ruleKey(r)}, true); errors.Is(err, store.ErrConflict) {
			id, _ := tx.Lookup(kindSGRule, ruleKey(r))
			return conflict("SecurityGroupRuleExists", "Security group rule already exists. Rule id is %s.", id)
		} else if err != nil {
			return err
		}
		return s.bumpSG(tx, g)
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// bumpSG counts a rule change as a change of its group (Neutron bumps the
// group's revision_number too).
func (s *Service) bumpSG(tx store.Tx, g *SecurityGroup) error {
	g.Revision++
	g.UpdatedAt = s.now()
	return put(tx, kindSecGroup, g.ProjectID, g, sgUnique(g), false)
}

// GetRule returns a visible rule.
func (s *Service) GetRule(ctx context.Context, id string) (*SecurityGroupRule, error) {
	var r *SecurityGroupRule
	err := s.read(ctx, func(tx store.ReadTx) error {
		var err error
		r, err = s.getRule(ctx, tx, id)
		return err
	})
	return r, err
}

// ListRules returns the visible rules.
func (s *Service) ListRules(ctx context.Context) ([]SecurityGroupRule, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.EnsureDefaultSecurityGroup(ctx); err != nil {
		return nil, err
	}
	var out []SecurityGroupRule
	err = s.read(ctx, func(tx store.ReadTx) error {
		groups, err := store.List[SecurityGroup](tx, kindSecGroup, store.ListOptions{})
		if err != nil {
			return err
		}
		mine := map[string]bool{}
		for _, g := range groups {
			mine[g.ID] = visible(c, g.ProjectID)
		}
		all, err := store.List[SecurityGroupRule](tx, kindSGRule, store.ListOptions{})
		for _, r := range all {
			if visible(c, r.ProjectID) || mine[r.SecurityGroupID] {
				out = append(out, r)
			}
		}
		return err
	})
	return out, err
}

// DeleteRule deletes a rule.
func (s *Service) DeleteRule(ctx context.Context, id string) error {
	c, err := creds(ctx)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx store.Tx) error {
		r, err := s.getRule(ctx, tx, id)
		if err != nil {
			return err
		}
		if !canWrite(c, r.ProjectID) && !c.IsAdmin() {
			g, gerr := store.Get[SecurityGroup](tx, kindSecGroup, r.SecurityGroupID)
			if gerr != nil || !canWrite(c, g.ProjectID) {
				return forbidden("rule:delete_security_group_rule is disallowed by policy")
			}
		}
		s.count(tx, r.ProjectID, "security_group_rule", -1)
		if err := tx.Delete(kindSGRule, id); err != nil {
			return err
		}
		if g, err := store.Get[SecurityGroup](tx, kindSecGroup, r.SecurityGroupID); err == nil {
			return s.bumpSG(tx, g)
		}
		return nil
	})
}
