package neutron

import (
	"net/http"

	"github.com/nubo-cloud/nubo/internal/network"
)

func (a *api) createSG(w http.ResponseWriter, r *http.Request) error {
	var spec network.SecurityGroupSpec
	if err := decodeBody(w, r, "security_group", &spec); err != nil {
		return err
	}
	g, err := a.net.CreateSecurityGroup(r.Context(), spec)
	if err != nil {
		return err
	}
	g, rules, err := a.net.GetSecurityGroup(r.Context(), g.ID)
	if err != nil {
		return err
	}
	return writeOne(w, r, http.StatusCreated, "security_group", sgView(g, rules))
}

func (a *api) listSGs(w http.ResponseWriter, r *http.Request) error {
	groups, rules, err := a.net.ListSecurityGroups(r.Context())
	if err != nil {
		return err
	}
	out := make([]view, 0, len(groups))
	for i := range groups {
		out = append(out, sgView(&groups[i], rules[groups[i].ID]))
	}
	return writeList(w, r, "security_groups", out)
}

func (a *api) getSG(w http.ResponseWriter, r *http.Request) error {
	g, rules, err := a.net.GetSecurityGroup(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeOne(w, r, http.StatusOK, "security_group", sgView(g, rules))
}

func (a *api) updateSG(w http.ResponseWriter, r *http.Request) error {
	var spec network.SecurityGroupSpec
	if err := decodeBody(w, r, "security_group", &spec); err != nil {
		return err
	}
	rev, err := ifMatch(r)
	if err != nil {
		return err
	}
	spec.IfRevision = rev
	g, err := a.net.UpdateSecurityGroup(r.Context(), r.PathValue("id"), spec)
	if err != nil {
		return err
	}
	g, rules, err := a.net.GetSecurityGroup(r.Context(), g.ID)
	if err != nil {
		return err
	}
	return writeOne(w, r, http.StatusOK, "security_group", sgView(g, rules))
}

func (a *api) deleteSG(w http.ResponseWriter, r *http.Request) error {
	if err := a.net.DeleteSecurityGroup(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	return noContent(w)
}

func (a *api) createRule(w http.ResponseWriter, r *http.Request) error {
	raws, bulk, err := decodeBulk(w, r, "security_group_rule", "security_group_rules")
	if err != nil {
		return err
	}
	var out []view
	for _, raw := range raws {
		var spec network.RuleSpec
		if err := unmarshal(raw, &spec); err != nil {
			return err
		}
		rule, err := a.net.CreateRule(r.Context(), spec)
		if err != nil {
			return err
		}
		out = append(out, ruleView(rule))
	}
	return writeCreated(w, r, "security_group_rule", "security_group_rules", bulk, out)
}

func (a *api) listRules(w http.ResponseWriter, r *http.Request) error {
	rules, err := a.net.ListRules(r.Context())
	if err != nil {
		return err
	}
	out := make([]view, 0, len(rules))
	for i := range rules {
		out = append(out, ruleView(&rules[i]))
	}
	return writeList(w, r, "security_group_rules", out)
}

func (a *api) getRule(w http.ResponseWriter, r *http.Request) error {
	rule, err := a.net.GetRule(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeOne(w, r, http.StatusOK, "security_group_rule", ruleView(rule))
}

func (a *api) deleteRule(w http.ResponseWriter, r *http.Request) error {
	if err := a.net.DeleteRule(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	return noContent(w)
}
