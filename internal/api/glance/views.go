package glance

import (
	"time"

	"github.com/nubo-cloud/nubo/internal/image"
)

// timeFormat is how Glance renders timestamps.
const timeFormat = "2006-01-02T15:04:05Z"

func orNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func ts(t time.Time) string { return t.UTC().Format(timeFormat) }

// imageView renders an image as Glance's v2 body: base attributes, then
// extra properties at the top level.
func imageView(im *image.Image) map[string]any {
	v := make(map[string]any, 24+len(im.Properties))
	for k, p := range im.Properties {
		v[k] = p
	}
	var name any
	if im.Name != nil {
		name = *im.Name
	}
	var size, vsize any
	if im.Size != nil {
		size = *im.Size
	}
	if im.VirtualSize != nil {
		vsize = *im.VirtualSize
	}
	tags := im.Tags
	if tags == nil {
		tags = []string{}
	}
	for k, val := range map[string]any{
		"id": im.ID, "name": name, "status": im.Status, "visibility": im.Visibility,
		"protected": im.Protected, "os_hidden": im.Hidden, "owner": orNull(im.Owner),
		"disk_format": orNull(im.DiskFormat), "container_format": orNull(im.ContainerFormat),
		"min_disk": im.MinDisk, "min_ram": im.MinRAM, "size": size, "virtual_size": vsize,
		"checksum": orNull(im.Checksum), "os_hash_algo": orNull(im.HashAlgo), "os_hash_value": orNull(im.HashValue),
		"tags": tags, "created_at": ts(im.CreatedAt), "updated_at": ts(im.UpdatedAt),
		"self": "/v2/images/" + im.ID, "file": "/v2/images/" + im.ID + "/file", "schema": "/v2/schemas/image",
	} {
		v[k] = val
	}
	if im.Stores != "" {
		v["stores"] = im.Stores
	}
	return v
}

func memberView(m *image.Member) map[string]any {
	return map[string]any{"image_id": m.ImageID, "member_id": m.MemberID, "status": m.Status,
		"created_at": ts(m.CreatedAt), "updated_at": ts(m.UpdatedAt), "schema": "/v2/schemas/member"}
}

func taskView(t *image.Task) map[string]any {
	v := map[string]any{"id": t.ID, "image_id": t.ImageID, "type": t.Type, "status": t.Status, "owner": t.Owner,
		"message": t.Message, "input": t.Input, "result": t.Result, "request_id": t.RequestID, "user_id": t.UserID,
		"created_at": ts(t.CreatedAt), "updated_at": ts(t.UpdatedAt), "expires_at": nil,
		"self": "/v2/tasks/" + t.ID, "schema": "/v2/schemas/task"}
	if t.ExpiresAt != nil {
		v["expires_at"] = ts(*t.ExpiresAt)
	}
	return v
}
