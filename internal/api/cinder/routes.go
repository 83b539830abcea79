package cinder

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/nubo-cloud/nubo/internal/api/apihttp"
	"github.com/nubo-cloud/nubo/internal/api/microversion"
	"github.com/nubo-cloud/nubo/internal/volume"
)

// prefix is where Block Storage lives on the shared listener.
const prefix = "/volume"

const v3 = prefix + "/v3"

// Versions is the microversion range served (docs/compat/volume.md).
var Versions = microversion.Range{
	Service: "volume",
	Min:     microversion.Version{Major: 3, Minor: 0},
	Max:     microversion.Version{Major: 3, Minor: 60},
}

type api struct {
	apihttp.API
	v *volume.Service
}

// resources are the first path segments after /v3 that name a resource;
// any other segment there is a project ID, which Cinder accepts and
// ignores when it matches the token (3.67 made it optional).
var resources = map[string]bool{
	"volumes": true, "snapshots": true, "types": true, "backups": true, "attachments": true,
	"os-quota-sets": true, "os-quota-class-sets": true, "limits": true, "os-availability-zone": true,
	"os-services": true, "extensions": true, "scheduler-stats": true, "os-volume-transfer": true,
	"volume-transfers": true, "messages": true, "groups": true, "group_types": true,
	"group_snapshots": true, "qos-specs": true, "os-hosts": true, "capabilities": true,
	"manageable_volumes": true, "manageable_snapshots": true, "resource_filters": true,
	"default-types": true, "workers": true, "clusters": true,
}

// Register adds the Block Storage v3 routes to mux; auth validates tokens.
func Register(mux *http.ServeMux, v *volume.Service, auth apihttp.Authenticator, log *slog.Logger) {
	a := &api{API: apihttp.API{Faults: writeFault, Log: log.With("component", "api.cinder"), ServiceType: "block-storage", Prefix: prefix}, v: v}
	inner := http.NewServeMux()
	authed := func(h apihttp.HandlerFunc) http.Handler {
		return Versions.Middleware(writeFault, a.RequireToken(auth, a.H(h)))
	}
	h := func(pattern string, fn apihttp.HandlerFunc) {
		method, path, _ := strings.Cut(pattern, " ")
		inner.Handle(method+" "+v3+path, authed(fn))
	}
	mux.Handle("GET "+prefix, a.H(a.versions))
	mux.Handle("GET "+prefix+"/{$}", a.H(a.versions))
	mux.Handle(v3+"/", stripProject(inner, a))
	mux.Handle("GET "+v3, authed(a.version))

	h("GET /{$}", a.version)
	h("GET /extensions", a.listExtensions)
	h("GET /os-availability-zone", a.listZones)
	h("GET /os-services", a.listServices)
	h("PUT /os-services/{action}", a.serviceAction)
	h("GET /os-hosts", a.listHosts)
	h("GET /os-hosts/{host}", a.showHost)
	h("GET /scheduler-stats/get_pools", a.getPools)
	h("GET /capabilities/{host}", a.showCapabilities)
	h("GET /messages", a.listMessages)
	h("GET /messages/{id}", a.getMessage)
	h("DELETE /messages/{id}", a.deleteMessage)
	h("GET /limits", a.limits)

	// Volumes, their metadata and actions.
	h("POST /volumes", a.createVolume)
	h("GET /volumes", a.listVolumes)
	h("GET /volumes/detail", a.listVolumesDetail)
	h("GET /volumes/summary", a.volumeSummary)
	h("GET /volumes/{id}", a.getVolume)
	h("PUT /volumes/{id}", a.updateVolume)
	h("DELETE /volumes/{id}", a.deleteVolume)
	h("POST /volumes/{id}/action", a.volumeAction)
	metadataAPI{noun: "Volume", get: v.Metadata, set: v.SetMetadata, del: v.DeleteMetadata}.register(h, "/volumes")

	// Snapshots.
	h("POST /snapshots", a.createSnapshot)
	h("GET /snapshots", a.listSnapshots)
	h("GET /snapshots/detail", a.listSnapshotsDetail)
	h("GET /snapshots/{id}", a.getSnapshot)
	h("PUT /snapshots/{id}", a.updateSnapshot)
	h("DELETE /snapshots/{id}", a.deleteSnapshot)
	h("POST /snapshots/{id}/action", a.snapshotAction)
	metadataAPI{noun: "Snapshot", get: a.snapshotMetadata, set: v.SetSnapshotMetadata, del: v.DeleteSnapshotMetadata}.register(h, "/snapshots")

	// Volume types, extra specs, access.
	h("POST /types", a.createType)
	h("GET /types", a.listTypes)
	h("GET /types/{id}", a.getType)
	h("PUT /types/{id}", a.updateType)
	h("DELETE /types/{id}", a.deleteType)
	h("POST /types/{id}/action", a.typeAction)
	h("GET /types/{id}/os-volume-type-access", a.listTypeAccess)
	h("GET /types/{id}/extra_specs", a.listExtraSpecs)
	h("POST /types/{id}/extra_specs", a.setExtraSpecs)
	h("GET /types/{id}/extra_specs/{key}", a.getExtraSpec)
	h("PUT /types/{id}/extra_specs/{key}", a.putExtraSpec)
	h("DELETE /types/{id}/extra_specs/{key}", a.deleteExtraSpec)
	h("GET /types/{id}/encryption", a.showEncryption)
	h("POST /types/{id}/encryption", a.createEncryption)
	h("GET /types/{id}/encryption/{key}", a.showEncryptionKey)
	h("PUT /types/{id}/encryption/{key}", a.updateEncryption)
	h("DELETE /types/{id}/encryption/{key}", a.deleteEncryption)

	// Backups.
	h("POST /backups", a.createBackup)
	h("GET /backups", a.listBackups)
	h("GET /backups/detail", a.listBackupsDetail)
	h("GET /backups/{id}", a.getBackup)
	h("PUT /backups/{id}", a.updateBackup)
	h("DELETE /backups/{id}", a.deleteBackup)
	h("POST /backups/{id}/restore", a.restoreBackup)
	h("POST /backups/{id}/action", a.backupAction)
	h("GET /backups/{id}/export_record", a.exportBackup)
	h("POST /backups/import_record", a.importBackup)

	// Attachments (3.27+).
	h("POST /attachments", a.createAttachment)
	h("GET /attachments", a.listAttachments)
	h("GET /attachments/detail", a.listAttachmentsDetail)
	h("GET /attachments/{id}", a.getAttachment)
	h("PUT /attachments/{id}", a.updateAttachment)
	h("DELETE /attachments/{id}", a.deleteAttachment)
	h("POST /attachments/{id}/action", a.attachmentAction)

	// QoS specs.
	h("POST /qos-specs", a.createQos)
	h("GET /qos-specs", a.listQos)
	h("GET /qos-specs/{id}", a.getQos)
	h("PUT /qos-specs/{id}", a.setQosKeys)
	h("DELETE /qos-specs/{id}", a.deleteQos)
	h("PUT /qos-specs/{id}/delete_keys", a.unsetQosKeys)
	h("GET /qos-specs/{id}/associations", a.qosAssociations)
	h("GET /qos-specs/{id}/associate", a.associateQos)
	h("GET /qos-specs/{id}/disassociate", a.disassociateQos)
	h("GET /qos-specs/{id}/disassociate_all", a.disassociateAllQos)

	// Volume transfers: os-volume-transfer (any version), volume-transfers (3.55+).
	for _, c := range []string{"/os-volume-transfer", "/volume-transfers"} {
		h("POST "+c, a.createTransfer)
		h("GET "+c, a.listTransfers)
		h("GET "+c+"/detail", a.listTransfersDetail)
		h("GET "+c+"/{id}", a.getTransfer)
		h("DELETE "+c+"/{id}", a.deleteTransfer)
		h("POST "+c+"/{id}/accept", a.acceptTransfer)
	}

	// Group types (3.11), groups (3.13), group snapshots (3.14).
	h("POST /group_types", a.createGroupType)
	h("GET /group_types", a.listGroupTypes)
	h("GET /group_types/{id}", a.getGroupType)
	h("PUT /group_types/{id}", a.updateGroupType)
	h("DELETE /group_types/{id}", a.deleteGroupType)
	h("GET /group_types/{id}/group_specs", a.listGroupSpecs)
	h("POST /group_types/{id}/group_specs", a.setGroupSpecs)
	h("GET /group_types/{id}/group_specs/{key}", a.getGroupSpec)
	h("PUT /group_types/{id}/group_specs/{key}", a.putGroupSpec)
	h("DELETE /group_types/{id}/group_specs/{key}", a.deleteGroupSpec)
	h("POST /groups", a.createGroup)
	h("GET /groups", a.listGroups)
	h("GET /groups/detail", a.listGroupsDetail)
	h("POST /groups/action", a.groupsAction)
	h("GET /groups/{id}", a.getGroup)
	h("PUT /groups/{id}", a.updateGroup)
	h("POST /groups/{id}/action", a.groupAction)
	h("POST /group_snapshots", a.createGroupSnapshot)
	h("GET /group_snapshots", a.listGroupSnapshots)
	h("GET /group_snapshots/detail", a.listGroupSnapshotsDetail)
	h("GET /group_snapshots/{id}", a.getGroupSnapshot)
	h("DELETE /group_snapshots/{id}", a.deleteGroupSnapshot)
	h("POST /group_snapshots/{id}/action", a.groupSnapshotAction)

	// Quotas.
	h("GET /os-quota-sets/{project}", a.getQuotaSet)
	h("GET /os-quota-sets/{project}/defaults", a.getQuotaDefaults)
	h("PUT /os-quota-sets/{project}", a.updateQuotaSet)
	h("DELETE /os-quota-sets/{project}", a.deleteQuotaSet)
	h("GET /os-quota-class-sets/{class}", a.getQuotaClass)
	h("PUT /os-quota-class-sets/{class}", a.updateQuotaClass)
}

// stripProject removes a project ID segment after /v3 so one set of
// routes serves both URL forms, then hands the request to the v3 routes.
func stripProject(next *http.ServeMux, a *api) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest := strings.TrimPrefix(r.URL.Path, v3+"/")
		seg, tail, _ := strings.Cut(rest, "/")
		if seg != "" && !resources[seg] {
			r2 := r.Clone(r.Context())
			r2.URL.Path = v3 + "/" + tail
			r2.URL.RawPath = ""
			r2.SetPathValue("project_id", seg)
			r = r2
		}
		if _, pattern := next.Handler(r); pattern == "" {
			a.Fail(w, r, notFoundPath())
			return
		}
		next.ServeHTTP(w, r)
	})
}
