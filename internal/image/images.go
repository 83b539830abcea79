package image

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/policy"
	"github.com/nubo-cloud/nubo/internal/store"
)

// Create registers a queued image from attrs, the body of
// POST /v2/images (attribute name → decoded JSON value). The owner is the
// caller's project unless an admin names another.
func (s *Service) Create(ctx context.Context, attrs map[string]any) (*Image, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	if c.ProjectID == "" || !c.CanWriteProject(c.ProjectID) {
		return nil, forbidden("You are not authorized to complete add_image action.")
	}
	now := s.now()
	im := &Image{ID: newID(), Status: StatusQueued, Visibility: Shared, Owner: c.ProjectID,
		Tags: []string{}, CreatedAt: now, UpdatedAt: now, CreatedNano: time.Now().UnixNano()}
	// Apply attributes in a fixed order so errors do not depend on map order.
	names := make([]string, 0, len(attrs))
	for k := range attrs {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if err := s.setAttr(c, im, k, attrs[k], true); err != nil {
			return nil, err
		}
	}
	err = s.st.Write(ctx, func(tx store.Tx) error {
		err := tx.Create(store.Record{Kind: kindImage, ID: im.ID, Ref: im.Owner, Value: im})
		if errors.Is(err, store.ErrConflict) {
			return fault.New(fault.Conflict, "Image with identifier %s already exists!", im.ID)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return im, nil
}

// Get returns an image the caller may see; 404 otherwise.
func (s *Service) Get(ctx context.Context, id string) (*Image, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	var im *Image
	err = s.st.Read(ctx, func(tx store.ReadTx) (err error) {
		im, err = getVisible(tx, c, id)
		return err
	})
	return im, err
}

// Update applies JSON-patch operations to an image the caller may change.
func (s *Service) Update(ctx context.Context, id string, ops []PatchOp) (*Image, error) {
	return s.mutate(ctx, id, func(c *policy.Credentials, im *Image) error {
		return s.applyPatch(c, im, ops)
	})
}

// mutate changes an image in one write transaction; fn sees a copy.
func (s *Service) mutate(ctx context.Context, id string, fn func(*policy.Credentials, *Image) error) (*Image, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	var im *Image
	err = s.st.Write(ctx, func(tx store.Tx) (err error) {
		if im, err = getWritable(tx, c, id); err != nil {
			return err
		}
		if err := fn(c, im); err != nil {
			return err
		}
		im.UpdatedAt = s.now()
		return putImage(tx, im)
	})
	if err != nil {
		return nil, err
	}
	return im, nil
}

// Delete removes an image, its members and its data. Protected images are
// 403. Afterwards the image is 404.
func (s *Service) Delete(ctx context.Context, id string) error {
	c, err := creds(ctx)
	if err != nil {
		return err
	}
	var im *Image
	err = s.st.Write(ctx, func(tx store.Tx) (err error) {
		if im, err = getWritable(tx, c, id); err != nil {
			return err
		}
		if im.Protected {
			return forbidden("Image %s is protected and cannot be deleted.", id)
		}
		members, err := store.List[Member](tx, kindMember, store.ListOptions{Ref: id})
		if err != nil {
			return err
		}
		for _, m := range members {
			if err := tx.Delete(kindMember, memberKey(id, m.MemberID)); err != nil {
				return err
			}
		}
		return tx.Delete(kindImage, id)
	})
	if err != nil {
		return err
	}
	// The record is gone, so no reader can reach the data any more; an
	// upload still streaming finds no record to commit to and drops its bytes.
	for _, key := range []string{im.BlobKey, im.StagedKey} {
		if key != "" {
			if err := s.blobs.Delete(ctx, key); err != nil {
				s.log.WarnContext(ctx, "image data not deleted", "image_id", id, "err", err)
			}
		}
	}
	return nil
}

// Deactivate makes an active image's data unreadable to non-admins.
func (s *Service) Deactivate(ctx context.Context, id string) error {
	_, err := s.mutate(ctx, id, func(c *policy.Credentials, im *Image) error {
		switch im.Status {
		case StatusDeactivated:
			return nil
		case StatusActive:
			return transition(im, StatusDeactivated)
		}
		return forbidden("Not allowed to deactivate image in status '%s'", im.Status)
	})
	return err
}

// Reactivate undoes Deactivate.
func (s *Service) Reactivate(ctx context.Context, id string) error {
	_, err := s.mutate(ctx, id, func(c *policy.Credentials, im *Image) error {
		switch im.Status {
		case StatusActive:
			return nil
		case StatusDeactivated:
			return transition(im, StatusActive)
		}
		return forbidden("Not allowed to reactivate image in status '%s'", im.Status)
	})
	return err
}

// AddTag adds tag to an image (idempotent).
func (s *Service) AddTag(ctx context.Context, id, tag string) error {
	_, err := s.mutate(ctx, id, func(c *policy.Credentials, im *Image) error {
		if len([]rune(tag)) > 255 {
			return badRequest("Tag is longer than 255 characters.")
		}
		if slices.Contains(im.Tags, tag) {
			return nil
		}
		if len(im.Tags) >= s.cfg.MaxTags {
			return fault.New(fault.OverLimit, "Maximum number of tags exceeded: %d", s.cfg.MaxTags)
		}
		im.Tags = append(im.Tags, tag)
		return nil
	})
	return err
}

// DeleteTag removes tag from an image; 404 if it has no such tag.
func (s *Service) DeleteTag(ctx context.Context, id, tag string) error {
	_, err := s.mutate(ctx, id, func(c *policy.Credentials, im *Image) error {
		i := slices.Index(im.Tags, tag)
		if i < 0 {
			return fault.New(fault.NotFound, "Tag %s not found", tag)
		}
		im.Tags = slices.Delete(im.Tags, i, i+1)
		return nil
	})
	return err
}

// ListOptions are the query of GET /v2/images.
type ListOptions struct {
	// Visibility filters ("" = the default view; "all" = everything visible).
	Visibility string
	// MemberStatus for shared images of other projects ("" = accepted; "all").
	MemberStatus string
	// Tags must all be present.
	Tags []string
	// SizeMin and SizeMax bound size when not nil.
	SizeMin, SizeMax *int64
	// CreatedAt and UpdatedAt are "op:timestamp" comparisons.
	CreatedAt, UpdatedAt string
	// Hidden selects os_hidden images (default: only visible ones).
	Hidden *bool
	// Filters are attribute or extra property equality filters; a value
	// "in:a,b" matches any of the listed values.
	Filters map[string]string
	// Sort keys with directions ("asc"/"desc"), created_at desc by default.
	SortKeys []string
	SortDirs []string
	// Marker is the ID of the last image of the previous page.
	Marker string
	// Limit caps the page (after capping by the API).
	Limit int
}

// SortKeys are the keys images may be sorted by.
var SortKeys = []string{"name", "status", "container_format", "disk_format", "size", "id", "created_at",
	"updated_at", "min_disk", "min_ram", "visibility", "owner", "protected", "os_hidden"}

// List returns a page of the images the caller may list, and whether
// more follow.
func (s *Service) List(ctx context.Context, o ListOptions) ([]Image, bool, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, false, err
	}
	if err := checkListOptions(&o); err != nil {
		return nil, false, err
	}
	var out []Image
	err = s.st.Read(ctx, func(tx store.ReadTx) error {
		all, err := store.List[Image](tx, kindImage, store.ListOptions{})
		if err != nil {
			return err
		}
		mine := map[string]string{} // image ID -> caller's member status
		if c.ProjectID != "" {
			ms, err := store.List[Member](tx, kindMember, store.ListOptions{})
			if err != nil {
				return err
			}
			for _, m := range ms {
				if m.MemberID == c.ProjectID {
					mine[m.ImageID] = m.Status
				}
			}
		}
		for _, im := range all {
			if listable(c, &im, mine, o) && matches(&im, o) {
				out = append(out, im)
			}
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	sortImages(out, o.SortKeys, o.SortDirs)
	start := 0
	if o.Marker != "" {
		i := slices.IndexFunc(out, func(im Image) bool { return im.ID == o.Marker })
		if i < 0 {
			return nil, false, badRequest("Invalid marker. Image %s could not be found.", o.Marker)
		}
		start = i + 1
	}
	out = out[start:]
	more := false
	if o.Limit >= 0 && len(out) > o.Limit {
		out, more = out[:o.Limit], true
	}
	return out, more, nil
}

func checkListOptions(o *ListOptions) error {
	switch o.Visibility {
	case "", "all", Public, Private, Shared, Community:
	default:
		return badRequest("Invalid visibility value: %s", o.Visibility)
	}
	switch o.MemberStatus {
	case "", "all", MemberPending, MemberAccepted, MemberRejected:
	default:
		return badRequest("Invalid status value: %s", o.MemberStatus)
	}
	for _, k := range o.SortKeys {
		if !slices.Contains(SortKeys, k) {
			return badRequest("Invalid sort key: %s. It should be one of the following: %s.", k, strings.Join(SortKeys, ", "))
		}
	}
	for _, d := range o.SortDirs {
		if d != "asc" && d != "desc" {
			return badRequest("Invalid sort direction: %s", d)
		}
	}
	for _, f := range []string{o.CreatedAt, o.UpdatedAt} {
		if f != "" {
			if _, _, err := parseTimeFilter(f); err != nil {
				return err
			}
		}
	}
	return nil
}

// listable applies the visibility rules of Glance's image list.
func listable(c *policy.Credentials, im *Image, mine map[string]string, o ListOptions) bool {
	owner := c.ProjectID != "" && im.Owner == c.ProjectID
	admin := c.IsAdmin() || c.IsReader()
	memberOK := func() bool {
		st, ok := mine[im.ID]
		if !ok || im.Visibility != Shared {
			return false
		}
		switch o.MemberStatus {
		case "all":
			return true
		case "":
			return st == MemberAccepted
		}
		return st == o.MemberStatus
	}
	switch o.Visibility {
	case "":
		if admin {
			return true
		}
		return owner || im.Visibility == Public || memberOK()
	case "all":
		return admin || owner || im.Visibility == Public || im.Visibility == Community || memberOK()
	case Public, Community:
		return im.Visibility == o.Visibility
	case Private:
		return im.Visibility == Private && (admin || owner)
	case Shared:
		return im.Visibility == Shared && ((admin && o.MemberStatus == "") || owner || memberOK())
	}
	return false
}

func attrString(im *Image, k string) (string, bool) {
	switch k {
	case "id":
		return im.ID, true
	case "name":
		if im.Name == nil {
			return "", true
		}
		return *im.Name, true
	case "status":
		return im.Status, true
	case "visibility":
		return im.Visibility, true
	case "owner":
		return im.Owner, true
	case "disk_format":
		return im.DiskFormat, true
	case "container_format":
		return im.ContainerFormat, true
	case "checksum":
		return im.Checksum, true
	case "os_hash_value":
		return im.HashValue, true
	case "os_hash_algo":
		return im.HashAlgo, true
	case "min_disk":
		return strconv.FormatInt(im.MinDisk, 10), true
	case "min_ram":
		return strconv.FormatInt(im.MinRAM, 10), true
	case "protected":
		return strconv.FormatBool(im.Protected), true
	case "os_hidden":
		return strconv.FormatBool(im.Hidden), true
	case "size", "virtual_size":
		p := im.Size
		if k == "virtual_size" {
			p = im.VirtualSize
		}
		if p == nil {
			return "", true
		}
		return strconv.FormatInt(*p, 10), true
	}
	v, ok := im.Properties[k]
	return v, ok
}

func matches(im *Image, o ListOptions) bool {
	hidden := false
	if o.Hidden != nil {
		hidden = *o.Hidden
	}
	if im.Hidden != hidden {
		return false
	}
	for _, t := range o.Tags {
		if !slices.Contains(im.Tags, t) {
			return false
		}
	}
	if o.SizeMin != nil && (im.Size == nil || *im.Size < *o.SizeMin) {
		return false
	}
	if o.SizeMax != nil && (im.Size == nil || *im.Size > *o.SizeMax) {
		return false
	}
	if o.CreatedAt != "" && !timeMatches(im.CreatedAt, o.CreatedAt) {
		return false
	}
	if o.UpdatedAt != "" && !timeMatches(im.UpdatedAt, o.UpdatedAt) {
		return false
	}
	for k, want := range o.Filters {
		got, ok := attrString(im, k)
		if !ok {
			return false
		}
		if vals, isIn := strings.CutPrefix(want, "in:"); isIn {
			if !slices.Contains(strings.Split(vals, ","), got) {
				return false
			}
		} else if got != want {
			return false
		}
	}
	return true
}

func parseTimeFilter(f string) (string, time.Time, error) {
	op, ts, ok := strings.Cut(f, ":")
	if !ok || !slices.Contains([]string{"gt", "gte", "lt", "lte", "eq", "neq"}, op) {
		op, ts = "eq", f
	}
	t, err := time.Parse(time.RFC3339, ts)
	if err != nil {
		if t2, err2 := time.Parse("2006-01-02T15:04:05", ts); err2 == nil {
			return op, t2, nil
		}
		return "", time.Time{}, badRequest("Unable to filter on a range with a non-numeric value: %s", f)
	}
	return op, t.UTC(), nil
}

func timeMatches(t time.Time, f string) bool {
	op, ref, err := parseTimeFilter(f)
	if err != nil {
		return false
	}
	switch op {
	case "gt":
		return t.After(ref)
	case "gte":
		return !t.Before(ref)
	case "lt":
		return t.Before(ref)
	case "lte":
		return !t.After(ref)
	case "neq":
		return !t.Equal(ref)
	}
	return t.Equal(ref)
}

func sortImages(ims []Image, keys, dirs []string) {
	if len(keys) == 0 {
		keys = []string{"created_at"}
	}
	if !slices.Contains(keys, "id") {
		keys = append(slices.Clone(keys), "id")
	}
	dir := func(i int) int {
		d := "desc"
		if i < len(dirs) {
			d = dirs[i]
		} else if len(dirs) > 0 {
			d = dirs[len(dirs)-1]
		}
		if d == "asc" {
			return 1
		}
		return -1
	}
	slices.SortStableFunc(ims, func(a, b Image) int {
		for i, k := range keys {
			if c := compareAttr(&a, &b, k); c != 0 {
				return c * dir(i)
			}
		}
		return 0
	})
}

func compareAttr(a, b *Image, k string) int {
	switch k {
	case "created_at":
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.CreatedNano, b.CreatedNano)
	case "updated_at":
		return a.UpdatedAt.Compare(b.UpdatedAt)
	case "size":
		return cmp.Compare(sizeOr(a.Size), sizeOr(b.Size))
	case "min_disk":
		return cmp.Compare(a.MinDisk, b.MinDisk)
	case "min_ram":
		return cmp.Compare(a.MinRAM, b.MinRAM)
	}
	x, _ := attrString(a, k)
	y, _ := attrString(b, k)
	return strings.Compare(x, y)
}

func sizeOr(p *int64) int64 {
	if p == nil {
		return -1
	}
	return *p
}
