package compute

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// UsageAuditLog is the report of os-instance_usage_audit_log: how far the
// compute hosts got in auditing instance usage for the last completed
// month before a time. Nubo runs no usage audit (Nova's
// instance_usage_audit is off by default too), so every host is one that
// has not run it.
type UsageAuditLog struct {
	PeriodBeginning, PeriodEnding time.Time
	Hosts                         []string // every compute host, by name
}

// Status is the report's overall_status, worded as Nova does.
func (l *UsageAuditLog) Status() string {
	return fmt.Sprintf("0 of %d hosts done. 0 errors.", len(l.Hosts))
}

// lastCompletedMonth returns the month before the one holding t (UTC).
func lastCompletedMonth(t time.Time) (begin, end time.Time) {
	t = t.UTC()
	end = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	return end.AddDate(0, -1, 0), end
}

// UsageAudit returns the usage audit report for the last month completed
// before before (now when zero) (admin).
func (s *Service) UsageAudit(ctx context.Context, before time.Time) (*UsageAuditLog, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	if before.IsZero() {
		before = s.now()
	}
	hosts, err := s.ListHosts(ctx)
	if err != nil {
		return nil, err
	}
	l := &UsageAuditLog{}
	l.PeriodBeginning, l.PeriodEnding = lastCompletedMonth(before)
	for _, h := range hosts {
		l.Hosts = append(l.Hosts, h.Name)
	}
	slices.Sort(l.Hosts)
	return l, nil
}
