package nova

import (
	"net/http"
	"time"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/compute"
	"github.com/nubo-cloud/nubo/internal/fault"
)

var (
	networkQuotas  = []string{"floating_ips", "fixed_ips", "security_groups", "security_group_rules"}
	injectedQuotas = []string{"injected_files", "injected_file_content_bytes", "injected_file_path_bytes"}
	groupQuotas    = []string{"server_groups", "server_group_members"}
)

// quotaKeys are the quota names shown at the request's microversion: the
// network ones go at 2.36, the injected-file ones at 2.57; quota classes
// show server-group quotas only from 2.50 (and drop network ones there).
func quotaKeys(r *http.Request, class bool) map[string]bool {
	keys := map[string]bool{}
	for k := range compute.QuotaResources {
		keys[k] = true
	}
	v := mv(r)
	drop := func(ks []string) {
		for _, k := range ks {
			delete(keys, k)
		}
	}
	if v.AtLeast(2, 36) && !class || class && v.AtLeast(2, 50) {
		drop(networkQuotas)
	}
	if v.AtLeast(2, 57) {
		drop(injectedQuotas)
	}
	if class && !v.AtLeast(2, 50) {
		drop(groupQuotas)
	}
	return keys
}

func limitsView(r *http.Request, lim map[string]int64, class bool) map[string]any {
	out := map[string]any{}
	for k := range quotaKeys(r, class) {
		out[k] = lim[k]
	}
	return out
}

func (a *api) getQuotaSet(w http.ResponseWriter, r *http.Request) error {
	project := r.PathValue("project")
	q, err := a.c.QuotaSet(r.Context(), project, r.URL.Query().Get("user_id"))
	if err != nil {
		return err
	}
	lim := map[string]int64{}
	for k, u := range q {
		lim[k] = u.Limit
	}
	v := limitsView(r, lim, false)
	v["id"] = project
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"quota_set": v})
	return nil
}

func (a *api) getQuotaDetail(w http.ResponseWriter, r *http.Request) error {
	project := r.PathValue("project")
	q, err := a.c.QuotaSet(r.Context(), project, r.URL.Query().Get("user_id"))
	if err != nil {
		return err
	}
	v := map[string]any{"id": project}
	for k := range quotaKeys(r, false) {
		u := q[k]
		v[k] = map[string]int64{"limit": u.Limit, "in_use": u.InUse, "reserved": u.Reserved}
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"quota_set": v})
	return nil
}

func (a *api) getQuotaDefaults(w http.ResponseWriter, r *http.Request) error {
	project := r.PathValue("project")
	lim, err := a.c.DefaultQuotas(r.Context(), project)
	if err != nil {
		return err
	}
	v := limitsView(r, lim, false)
	v["id"] = project
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"quota_set": v})
	return nil
}

// quotaBody reads {"quota_set": {...}} limits allowed at the microversion.
func quotaBody(w http.ResponseWriter, r *http.Request, envelope string, class bool) (map[string]int64, bool, error) {
	m, err := decodeBody(w, r, envelope)
	if err != nil {
		return nil, false, err
	}
	keys := quotaKeys(r, class)
	lim := map[string]int64{}
	force := false
	for k := range m {
		switch {
		case k == "force" && !class:
			b, err := boolField(m, "force")
			if err != nil {
				return nil, false, err
			}
			force = *b
		case k == "id" && class:
		case keys[k]:
			n, err := intField(m, k, 0, false)
			if err != nil {
				return nil, false, err
			}
			lim[k] = n
		default:
			return nil, false, badRequest("Invalid input for field/attribute %s. Additional properties are not allowed ('%s' was unexpected).", envelope, k)
		}
	}
	return lim, force, nil
}

func (a *api) updateQuotaSet(w http.ResponseWriter, r *http.Request) error {
	lim, force, err := quotaBody(w, r, "quota_set", false)
	if err != nil {
		return err
	}
	out, err := a.c.UpdateQuotas(r.Context(), r.PathValue("project"), r.URL.Query().Get("user_id"), lim, force)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"quota_set": limitsView(r, out, false)})
	return nil
}

func (a *api) deleteQuotaSet(w http.ResponseWriter, r *http.Request) error {
	if err := a.c.DeleteQuotas(r.Context(), r.PathValue("project"), r.URL.Query().Get("user_id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

func (a *api) getQuotaClass(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	lim, err := a.c.QuotaClassSet(r.Context(), id)
	if err != nil {
		return err
	}
	v := limitsView(r, lim, true)
	v["id"] = id
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"quota_class_set": v})
	return nil
}

func (a *api) updateQuotaClass(w http.ResponseWriter, r *http.Request) error {
	lim, _, err := quotaBody(w, r, "quota_class_set", true)
	if err != nil {
		return err
	}
	out, err := a.c.UpdateQuotaClass(r.Context(), r.PathValue("id"), lim)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"quota_class_set": limitsView(r, out, true)})
	return nil
}

// limits renders /limits: absolute limits from the quotas, no rate limits.
func (a *api) limits(w http.ResponseWriter, r *http.Request) error {
	q, err := a.c.Limits(r.Context(), r.URL.Query().Get("tenant_id"))
	if err != nil {
		return err
	}
	abs := map[string]int64{
		"maxTotalInstances": q["instances"].Limit, "totalInstancesUsed": q["instances"].InUse,
		"maxTotalCores": q["cores"].Limit, "totalCoresUsed": q["cores"].InUse,
		"maxTotalRAMSize": q["ram"].Limit, "totalRAMUsed": q["ram"].InUse,
		"maxServerMeta": q["metadata_items"].Limit, "maxTotalKeypairs": q["key_pairs"].Limit,
		"maxServerGroups": q["server_groups"].Limit, "totalServerGroupsUsed": q["server_groups"].InUse,
		"maxServerGroupMembers": q["server_group_members"].Limit,
	}
	v := mv(r)
	if !v.AtLeast(2, 36) {
		abs["maxSecurityGroups"] = q["security_groups"].Limit
		abs["maxSecurityGroupRules"] = q["security_group_rules"].Limit
		abs["maxTotalFloatingIps"] = q["floating_ips"].Limit
		abs["totalFloatingIpsUsed"] = 0
		abs["totalSecurityGroupsUsed"] = 0
	}
	if !v.AtLeast(2, 39) {
		abs["maxImageMeta"] = q["metadata_items"].Limit
	}
	if !v.AtLeast(2, 57) {
		abs["maxPersonality"] = q["injected_files"].Limit
		abs["maxPersonalitySize"] = q["injected_file_content_bytes"].Limit
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"limits": map[string]any{"absolute": abs, "rate": []any{}}})
	return nil
}

// Simple tenant usage.

func parseUsageTime(s string, def time.Time) (time.Time, error) {
	if s == "" {
		return def, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999", "2006-01-02T15:04:05", "2006-01-02 15:04:05.999999", "2006-01-02 15:04:05", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, badRequest("Invalid input for field/attribute start or end. Value: %s. It must be an ISO 8601 date and time.", s)
}

func usagePeriod(r *http.Request) (time.Time, time.Time, bool, error) {
	q := r.URL.Query()
	now := time.Now().UTC()
	start, err := parseUsageTime(q.Get("start"), now)
	if err != nil {
		return start, now, false, err
	}
	end, err := parseUsageTime(q.Get("end"), now)
	if err != nil {
		return start, end, false, err
	}
	if start.After(end) {
		return start, end, false, badRequest("Invalid start time. The start time cannot occur after the end time.")
	}
	detailed, _ := parseBool(q.Get("detailed"))
	return start, end, detailed, nil
}

func usageView(u *compute.TenantUsage, detailed bool) map[string]any {
	v := map[string]any{
		"tenant_id": u.ProjectID, "start": ts(u.Start), "stop": ts(u.Stop),
		"total_hours": u.TotalHours, "total_vcpus_usage": u.TotalVCPUsUsage,
		"total_memory_mb_usage": u.TotalMemoryMB, "total_local_gb_usage": u.TotalLocalGB,
	}
	if detailed {
		servers := make([]map[string]any, 0, len(u.Servers))
		for _, s := range u.Servers {
			f := s.Server.Flavor
			servers = append(servers, map[string]any{
				"instance_id": s.Server.ID, "name": s.Server.Name, "tenant_id": u.ProjectID, "flavor": f.Name,
				"hours": s.Hours, "vcpus": f.VCPUs, "memory_mb": f.RAM, "local_gb": f.Disk + f.Ephemeral,
				"started_at": ts(s.StartedAt), "ended_at": tsPtr(s.EndedAt), "state": s.State, "uptime": s.Uptime,
			})
		}
		v["server_usages"] = servers
	}
	return v
}

func (a *api) listUsage(w http.ResponseWriter, r *http.Request) error {
	start, end, detailed, err := usagePeriod(r)
	if err != nil {
		return err
	}
	us, err := a.c.Usage(r.Context(), "", start, end)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(us))
	for i := range us {
		out = append(out, usageView(&us[i], detailed))
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"tenant_usages": out})
	return nil
}

func (a *api) getUsage(w http.ResponseWriter, r *http.Request) error {
	project := r.PathValue("project")
	if project == "" {
		return fault.New(fault.NotFound, "The resource could not be found.")
	}
	start, end, _, err := usagePeriod(r)
	if err != nil {
		return err
	}
	us, err := a.c.Usage(r.Context(), project, start, end)
	if err != nil {
		return err
	}
	body := map[string]any{}
	if len(us) > 0 {
		body = usageView(&us[0], true)
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"tenant_usage": body})
	return nil
}
