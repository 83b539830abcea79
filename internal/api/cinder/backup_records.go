package cinder

import (
	"net/http"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
)

// exportBackup: GET /backups/{id}/export_record (admin).
func (a *api) exportBackup(w http.ResponseWriter, r *http.Request) error {
	svc, url, err := a.v.ExportBackup(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusOK, map[string]any{"backup-record": map[string]string{
		"backup_service": svc, "backup_url": url}})
	return nil
}

// importBackup: POST /backups/import_record {"backup-record": {...}} (admin), 201.
func (a *api) importBackup(w http.ResponseWriter, r *http.Request) error {
	m, err := body(w, r, "backup-record")
	if err != nil {
		return err
	}
	svc, err := strOr(m, "backup_service")
	if err != nil {
		return err
	}
	url, err := strOr(m, "backup_url")
	if err != nil {
		return err
	}
	if svc == "" || url == "" {
		return badRequest("Invalid input received: backup_service and backup_url are required.")
	}
	b, err := a.v.ImportBackup(r.Context(), svc, url)
	if err != nil {
		return err
	}
	apihttp.WriteJSON(w, http.StatusCreated, map[string]any{"backup": backupView(r, b, false)})
	return nil
}
