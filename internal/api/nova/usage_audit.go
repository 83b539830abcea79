package nova

import (
	"net/http"
	"time"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/compute"
)

// os-instance_usage_audit_log (admin).

func usageAuditView(l *compute.UsageAuditLog) map[string]any {
	const pyTime = "2006-01-02 15:04:05" // Python's str(datetime)
	return map[string]any{
		"period_beginning": l.PeriodBeginning.Format(pyTime), "period_ending": l.PeriodEnding.Format(pyTime),
		"num_hosts": len(l.Hosts), "num_hosts_done": 0, "num_hosts_running": 0, "num_hosts_not_run": len(l.Hosts),
		"hosts_not_run": append([]string{}, l.Hosts...), "total_instances": 0, "total_errors": 0,
		"overall_status": l.Status(), "log": map[string]any{},
	}
}

func (a *api) listUsageAuditLogs(w http.ResponseWriter, r *http.Request) error {
	l, err := a.c.UsageAudit(r.Context(), time.Time{})
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"instance_usage_audit_logs": usageAuditView(l)})
	return nil
}

func (a *api) getUsageAuditLog(w http.ResponseWriter, r *http.Request) error {
	raw := r.PathValue("before")
	var before time.Time
	var err error
	for _, layout := range []string{"2006-01-02 15:04:05.999999", "2006-01-02 15:04:05"} {
		if before, err = time.Parse(layout, raw); err == nil {
			break
		}
	}
	if err != nil {
		if _, perr := a.c.UsageAudit(r.Context(), time.Time{}); perr != nil {
			return perr // policy first, as Nova checks it
		}
		return badRequest("Invalid timestamp for date %s", raw)
	}
	l, err := a.c.UsageAudit(r.Context(), before)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"instance_usage_audit_log": usageAuditView(l)})
	return nil
}
