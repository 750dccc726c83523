package sqlstate

import (
	"context"
	"fmt"
	"time"

	"yujing"
)

// SetSiteStatus records a site's production status: the change is kept,
// and the site's status is it until the next.
func (s *State) SetSiteStatus(ctx context.Context, st yujing.SiteStatus) error {
	_, err := s.db.w.ExecContext(ctx, `INSERT INTO site_status (site, status, since, by, reason) VALUES (?, ?, ?, ?, ?)`,
		st.Site, string(st.Status), st.Since.UnixNano(), st.By, st.Reason)
	if err != nil {
		return fmt.Errorf("state %s: set the status of site %s: %w", s.db.path, st.Site, err)
	}
	return nil
}

// SiteStatuses returns every site's status now (the latest change of each
// site that has one), by site.
func (s *State) SiteStatuses(ctx context.Context) ([]yujing.SiteStatus, error) {
	return s.siteStatuses(ctx, `SELECT site, status, since, by, reason FROM site_status
		WHERE id IN (SELECT MAX(id) FROM site_status GROUP BY site) ORDER BY site`)
}

// SiteStatusHistory returns the changes of a site's status, newest first,
// at most limit.
func (s *State) SiteStatusHistory(ctx context.Context, site string, limit int) ([]yujing.SiteStatus, error) {
	return s.siteStatuses(ctx, `SELECT site, status, since, by, reason FROM site_status WHERE site = ? ORDER BY id DESC LIMIT ?`, site, limit)
}

func (s *State) siteStatuses(ctx context.Context, q string, args ...any) ([]yujing.SiteStatus, error) {
	rows, err := s.db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("state %s: site statuses: %w", s.db.path, err)
	}
	defer rows.Close()
	var out []yujing.SiteStatus
	for rows.Next() {
		var st yujing.SiteStatus
		var status string
		var since int64
		if err := rows.Scan(&st.Site, &status, &since, &st.By, &st.Reason); err != nil {
			return nil, fmt.Errorf("state %s: site statuses: %w", s.db.path, err)
		}
		st.Status, st.Since = yujing.ProductionStatus(status), time.Unix(0, since)
		out = append(out, st)
	}
	return out, rows.Err()
}
