package nova

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/policy"
)

// os-security-groups and os-security-group-rules (before 2.36), proxied to
// Networking as Nova's neutron driver does: only ingress rules are shown,
// ICMP ports -1 become "any", a rule without a remote prefix shows
// 0.0.0.0/0. GET /servers/{id}/os-security-groups is served at every
// microversion.

// sgValidateID is Nova's validate_id: group IDs are UUIDs with Networking.
func sgValidateID(id string) error {
	if _, err := uuid.Parse(id); err != nil {
		return badRequest("Security group id should be uuid")
	}
	return nil
}

// sgNotFound turns a networking 404 into Nova's.
func sgNotFound(err error, id string) error {
	if fault.Is(err, fault.NotFound) {
		return fault.New(fault.NotFound, "Security group %s not found.", id)
	}
	return err
}

// sgProperty is validate_property with Networking: a string of at most
// 255 characters (empty allowed, as Nova has always accepted it).
func sgProperty(m map[string]json.RawMessage, name string) (string, error) {
	s, err := stringField(m, name)
	if err != nil || s == nil {
		return "", badRequest("Security group %s is not a string or unicode", name)
	}
	if n := len([]rune(*s)); n > 255 {
		return "", badRequest("%s has a maximum length of 255 characters.", name)
	}
	return *s, nil
}

// sgBody is Nova's _from_body: the body must hold key.
func sgBody(w http.ResponseWriter, r *http.Request, key string) (map[string]json.RawMessage, error) {
	var outer map[string]json.RawMessage
	if err := apihttp.Decode(w, r, &outer); err != nil {
		return nil, err
	}
	if len(outer) == 0 {
		return nil, badRequest("The request body can't be empty")
	}
	raw, ok := outer[key]
	if !ok || string(raw) == "null" {
		return nil, badRequest("Missing parameter %s", key)
	}
	var inner map[string]json.RawMessage
	if err := json.Unmarshal(raw, &inner); err != nil {
		return nil, badRequest("The request body is invalid: %s is not an object.", key)
	}
	if inner == nil {
		inner = map[string]json.RawMessage{}
	}
	return inner, nil
}

// sgRuleView is _format_security_group_rule; groups resolves remote
// groups (nil result: the rule is left out, as Nova does).
func sgRuleView(rule *ProxySecurityGroupRule, groups map[string]*ProxySecurityGroup) map[string]any {
	proto := any(nil)
	if rule.Protocol != "" {
		p := rule.Protocol
		if p == "icmp" && rule.EtherType == "IPv6" {
			p = "icmpv6"
		}
		proto = p
	}
	v := map[string]any{
		"id": rule.ID, "parent_group_id": rule.GroupID, "ip_protocol": proto,
		"from_port": intOrNil(rule.PortMin), "to_port": intOrNil(rule.PortMax),
		"group": map[string]any{}, "ip_range": map[string]any{},
	}
	if rule.RemoteGroupID != "" {
		g := groups[rule.RemoteGroupID]
		if g == nil {
			return nil
		}
		v["group"] = map[string]any{"name": g.Name, "tenant_id": g.ProjectID}
		return v
	}
	cidr := rule.RemoteIPPrefix
	if cidr == "" {
		cidr = "0.0.0.0/0"
	}
	v["ip_range"] = map[string]any{"cidr": cidr}
	return v
}

func intOrNil(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

func sgView(g *ProxySecurityGroup, groups map[string]*ProxySecurityGroup) map[string]any {
	rules := []map[string]any{}
	for i := range g.Rules {
		if g.Rules[i].Direction != "ingress" {
			continue
		}
		if v := sgRuleView(&g.Rules[i], groups); v != nil {
			rules = append(rules, v)
		}
	}
	return map[string]any{"id": g.ID, "name": g.Name, "description": g.Description, "tenant_id": g.ProjectID, "rules": rules}
}

// sgIndex maps every visible group by ID, to resolve remote groups.
func (a *api) sgIndex(r *http.Request, p Proxy) (map[string]*ProxySecurityGroup, []ProxySecurityGroup, error) {
	all, err := p.ListSecurityGroups(r.Context())
	if err != nil {
		return nil, nil, err
	}
	idx := make(map[string]*ProxySecurityGroup, len(all))
	for i := range all {
		idx[all[i].ID] = &all[i]
	}
	return idx, all, nil
}

func (a *api) listSecurityGroups(w http.ResponseWriter, r *http.Request) error {
	p, err := a.px()
	if err != nil {
		return err
	}
	idx, all, err := a.sgIndex(r, p)
	if err != nil {
		return err
	}
	c := policy.FromContext(r.Context())
	q := r.URL.Query()
	allProjects := false
	if v := q.Get("all_tenants"); v != "" && c != nil && c.IsAdmin() {
		b, ok := parseBool(v)
		allProjects = !ok || b
	}
	var list []ProxySecurityGroup
	for _, g := range all {
		if allProjects || c != nil && g.ProjectID == c.ProjectID {
			list = append(list, g)
		}
	}
	list, err = limitOffset(r, list)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(list))
	for i := range list {
		out = append(out, sgView(&list[i], idx))
	}
	sort.SliceStable(out, func(i, j int) bool {
		ti, tj := out[i]["tenant_id"].(string), out[j]["tenant_id"].(string)
		if ti != tj {
			return ti < tj
		}
		return out[i]["name"].(string) < out[j]["name"].(string)
	})
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"security_groups": out})
	return nil
}

// limitOffset is Nova's common.limited: offset and limit query parameters.
func limitOffset[T any](r *http.Request, list []T) ([]T, error) {
	q := r.URL.Query()
	offset, limit := 0, len(list)
	for name, dst := range map[string]*int{"offset": &offset, "limit": &limit} {
		s := q.Get(name)
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return nil, badRequest("%s param must be an integer", name)
		}
		*dst = n
	}
	list = list[min(offset, len(list)):]
	return list[:min(limit, len(list))], nil
}

// sgTarget starts the handlers of one security group or rule: the proxy,
// the ID from the path (a UUID, else 400) and, when lookup, the group
// (404 in Nova's words when it does not exist).
func (a *api) sgTarget(r *http.Request, lookup bool) (Proxy, string, *ProxySecurityGroup, error) {
	p, err := a.px()
	if err != nil {
		return nil, "", nil, err
	}
	id := r.PathValue("id")
	if err := sgValidateID(id); err != nil {
		return nil, "", nil, err
	}
	if !lookup {
		return p, id, nil, nil
	}
	g, err := p.GetSecurityGroup(r.Context(), id)
	if err != nil {
		return nil, "", nil, sgNotFound(err, id)
	}
	return p, id, g, nil
}

func (a *api) getSecurityGroup(w http.ResponseWriter, r *http.Request) error {
	p, _, g, err := a.sgTarget(r, true)
	if err != nil {
		return err
	}
	idx, _, err := a.sgIndex(r, p)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"security_group": sgView(g, idx)})
	return nil
}

func (a *api) createSecurityGroup(w http.ResponseWriter, r *http.Request) error {
	p, err := a.px()
	if err != nil {
		return err
	}
	m, err := sgBody(w, r, "security_group")
	if err != nil {
		return err
	}
	name, err := sgProperty(m, "name")
	if err != nil {
		return err
	}
	desc, err := sgProperty(m, "description")
	if err != nil {
		return err
	}
	g, err := p.CreateSecurityGroup(r.Context(), name, desc)
	if err != nil {
		return sgWriteFault(err)
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"security_group": sgView(g, nil)})
	return nil
}

// sgWriteFault maps Networking's answers as Nova's neutron driver does:
// over quota is 403, a conflict (in use) or a bad request is 400.
func sgWriteFault(err error) error {
	fe := fault.As(err)
	switch {
	case fe == nil:
		return err
	case fe.Type == "OverQuota":
		return fault.Wrap(fault.Forbidden, err, "Quota exceeded, too many security groups.")
	case fe.Kind == fault.Conflict || fe.Kind == fault.BadRequest:
		return fault.Wrap(fault.BadRequest, err, fe.Msg)
	}
	return err
}

func (a *api) updateSecurityGroup(w http.ResponseWriter, r *http.Request) error {
	p, id, _, err := a.sgTarget(r, true)
	if err != nil {
		return err
	}
	m, err := sgBody(w, r, "security_group")
	if err != nil {
		return err
	}
	name, err := sgProperty(m, "name")
	if err != nil {
		return err
	}
	desc, err := sgProperty(m, "description")
	if err != nil {
		return err
	}
	g, err := p.UpdateSecurityGroup(r.Context(), id, &name, &desc)
	if err != nil {
		return sgWriteFault(sgNotFound(err, id))
	}
	idx, _, err := a.sgIndex(r, p)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"security_group": sgView(g, idx)})
	return nil
}

func (a *api) deleteSecurityGroup(w http.ResponseWriter, r *http.Request) error {
	p, id, _, err := a.sgTarget(r, true)
	if err != nil {
		return err
	}
	if err := p.DeleteSecurityGroup(r.Context(), id); err != nil {
		return sgWriteFault(sgNotFound(err, id))
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// ruleArgs is _rule_args_to_dict + _new_ingress_rule: nil means "not
// enough parameters to build a valid rule".
func ruleArgs(m map[string]json.RawMessage, groupID string) (*ProxySecurityGroupRule, error) {
	proto, err := stringField(m, "ip_protocol")
	if err != nil {
		return nil, err
	}
	rule := &ProxySecurityGroupRule{Direction: "ingress", EtherType: "IPv4", RemoteGroupID: groupID}
	if groupID == "" {
		cidr := "0.0.0.0/0"
		if s, err := stringField(m, "cidr"); err != nil {
			return nil, err
		} else if s != nil && *s != "" {
			cidr = *s
			pfx, err := netip.ParsePrefix(cidr)
			if err != nil {
				return nil, badRequest("Invalid cidr %s.", cidr)
			}
			if pfx.Addr().Is6() {
				rule.EtherType = "IPv6"
			}
			if pfx.Bits() == 0 && !pfx.Addr().IsUnspecified() {
				return nil, badRequest("Bad prefix for network in cidr %s", cidr)
			}
		}
		rule.RemoteIPPrefix = cidr
	}
	_, hasFrom := m["from_port"]
	_, hasTo := m["to_port"]
	hasFrom = hasFrom && string(m["from_port"]) != "null"
	hasTo = hasTo && string(m["to_port"]) != "null"
	if proto == nil || *proto == "" || !hasFrom || !hasTo {
		if groupID == "" {
			return nil, nil
		}
		return rule, nil
	}
	p := strings.ToLower(*proto)
	from, ferr := intField(m, "from_port", 0, false)
	to, terr := intField(m, "to_port", 0, false)
	if ferr != nil || terr != nil {
		if p == "icmp" {
			return nil, badRequest("Type and Code must be integers for ICMP protocol type")
		}
		return nil, badRequest("To and From ports must be integers")
	}
	switch p {
	case "tcp", "udp":
		if from > to {
			return nil, badRequest("Invalid port range %d:%d. Former value cannot be greater than the later", from, to)
		}
		if from < 1 || to > 65535 {
			return nil, badRequest("Invalid port range %d:%d. Valid %s ports should be between 1-65535", from, to, strings.ToUpper(p))
		}
	case "icmp":
		if from < -1 || from > 255 || to < -1 || to > 255 {
			return nil, badRequest("Invalid port range %d:%d. For ICMP, the type:code must be valid", from, to)
		}
	default:
		return nil, badRequest("Invalid IP protocol %s.", *proto)
	}
	rule.Protocol = p
	f, t := int(from), int(to)
	if p != "icmp" || f != -1 {
		rule.PortMin = &f
	}
	if p != "icmp" || t != -1 {
		rule.PortMax = &t
	}
	return rule, nil
}

func sameRule(a, b *ProxySecurityGroupRule) bool {
	eq := func(x, y *int) bool { return x == nil && y == nil || x != nil && y != nil && *x == *y }
	pa, pb := a.RemoteIPPrefix, b.RemoteIPPrefix
	if a.RemoteGroupID == "" && pa == "" {
		pa = "0.0.0.0/0"
	}
	if b.RemoteGroupID == "" && pb == "" {
		pb = "0.0.0.0/0"
	}
	return a.Direction == b.Direction && a.EtherType == b.EtherType && a.Protocol == b.Protocol &&
		eq(a.PortMin, b.PortMin) && eq(a.PortMax, b.PortMax) && pa == pb && a.RemoteGroupID == b.RemoteGroupID
}

func (a *api) createSecurityGroupRule(w http.ResponseWriter, r *http.Request) error {
	p, err := a.px()
	if err != nil {
		return err
	}
	m, err := sgBody(w, r, "security_group_rule")
	if err != nil {
		return err
	}
	parent, err := stringField(m, "parent_group_id")
	if err != nil {
		return err
	}
	pid := ""
	if parent != nil {
		pid = *parent
	} else if raw, ok := m["parent_group_id"]; ok && string(raw) != "null" {
		pid = string(raw)
	}
	if err := sgValidateID(pid); err != nil {
		return err
	}
	ctx := r.Context()
	g, err := p.GetSecurityGroup(ctx, pid)
	if err != nil {
		return sgNotFound(err, pid)
	}
	groupID := ""
	var source *ProxySecurityGroup
	if s, err := stringField(m, "group_id"); err != nil {
		return err
	} else if s != nil {
		if err := sgValidateID(*s); err != nil {
			return err
		}
		if source, err = p.GetSecurityGroup(ctx, *s); err != nil {
			return sgNotFound(err, *s)
		}
		groupID = *s
	}
	rule, err := ruleArgs(m, groupID)
	if err != nil {
		return err
	}
	if rule == nil {
		return badRequest("Not enough parameters to build a valid rule.")
	}
	rule.GroupID = g.ID
	for i := range g.Rules {
		if sameRule(&g.Rules[i], rule) {
			return badRequest("This rule already exists in group %s", g.ID)
		}
	}
	created, err := p.CreateSecurityGroupRule(ctx, *rule)
	if err != nil {
		fe := fault.As(err)
		if fe != nil && fe.Kind == fault.Conflict && fe.Type != "OverQuota" {
			return fault.Wrap(fault.BadRequest, err, "This rule already exists in group "+g.ID)
		}
		return sgWriteFault(sgNotFound(err, pid))
	}
	groups := map[string]*ProxySecurityGroup{}
	if source != nil {
		groups[source.ID] = source
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"security_group_rule": sgRuleView(created, groups)})
	return nil
}

func (a *api) deleteSecurityGroupRule(w http.ResponseWriter, r *http.Request) error {
	p, id, _, err := a.sgTarget(r, false)
	if err != nil {
		return err
	}
	if err := p.DeleteSecurityGroupRule(r.Context(), id); err != nil {
		if fault.Is(err, fault.NotFound) {
			return fault.New(fault.NotFound, "Security group rule %s not found.", id)
		}
		return sgWriteFault(err)
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// listServerSecurityGroups is GET /servers/{id}/os-security-groups: the
// groups of the server's ports.
func (a *api) listServerSecurityGroups(w http.ResponseWriter, r *http.Request) error {
	ctx, id := r.Context(), r.PathValue("id")
	if _, err := a.c.GetServer(ctx, id); err != nil {
		return err
	}
	p, err := a.px()
	if err != nil {
		return err
	}
	ports, err := p.ServerPorts(ctx, id)
	if err != nil {
		return err
	}
	idx, _, err := a.sgIndex(r, p)
	if err != nil {
		return err
	}
	out := []map[string]any{}
	seen := map[string]bool{}
	for _, port := range ports {
		for _, gid := range port.SecurityGroupIDs {
			if seen[gid] {
				continue
			}
			seen[gid] = true
			g := idx[gid]
			if g == nil {
				if g, err = p.GetSecurityGroup(ctx, gid); err != nil {
					continue
				}
			}
			out = append(out, sgView(g, idx))
		}
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"security_groups": out})
	return nil
}

// syncPortSecurityGroup applies addSecurityGroup/removeSecurityGroup to the
// server's ports, as Nova's neutron driver does (the server record keeps
// the names for ports made later).
func (a *api) syncPortSecurityGroup(r *http.Request, serverID, name string, add bool) error {
	if a.proxy == nil {
		return nil
	}
	p, ctx := a.proxy, r.Context()
	groups, err := p.ListSecurityGroups(ctx)
	if err != nil {
		return err
	}
	c := policy.FromContext(ctx)
	gid := ""
	for _, g := range groups {
		if g.ID == name {
			gid = g.ID
			break
		}
		if g.Name == name && (c == nil || g.ProjectID == c.ProjectID) {
			gid = g.ID
		}
	}
	if gid == "" {
		return fault.New(fault.NotFound, "Security group %s not found.", name)
	}
	ports, err := p.ServerPorts(ctx, serverID)
	if err != nil {
		return err
	}
	for _, port := range ports {
		has := false
		var ids []string
		for _, g := range port.SecurityGroupIDs {
			if g == gid {
				has = true
				if !add {
					continue
				}
			}
			ids = append(ids, g)
		}
		if add && has || !add && !has {
			continue
		}
		if add {
			ids = append(ids, gid)
		}
		if err := p.SetPortSecurityGroups(ctx, port.ID, ids); err != nil {
			return err
		}
	}
	return nil
}
