package image

import (
	"context"
	"errors"
	"slices"

	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/policy"
	"github.com/nubo-cloud/nubo/internal/store"
)

// MaxMembers caps the members of one image (Glance's image_member_quota).
const MaxMembers = 128

func onlyShared(im *Image) error {
	if im.Visibility != Shared {
		return forbidden("Only shared images have members.")
	}
	return nil
}

func memberNotFound(imageID, memberID string) error {
	return fault.New(fault.NotFound, "%s is not a member of image %s", memberID, imageID)
}

// AddMember shares an image with project memberID (owner or admin only);
// the membership starts pending.
func (s *Service) AddMember(ctx context.Context, imageID, memberID string) (*Member, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	if memberID == "" || len(memberID) > 255 {
		return nil, badRequest("Invalid member: %q", memberID)
	}
	now := s.now()
	m := &Member{ImageID: imageID, MemberID: memberID, Status: MemberPending, CreatedAt: now, UpdatedAt: now}
	err = s.st.Write(ctx, func(tx store.Tx) error {
		im, err := getWritable(tx, c, imageID)
		if err != nil {
			return err
		}
		if err := onlyShared(im); err != nil {
			return err
		}
		existing, err := tx.List(kindMember, store.ListOptions{Ref: imageID})
		if err != nil {
			return err
		}
		if len(existing) >= MaxMembers {
			return fault.New(fault.OverLimit, "The limit has been exceeded on the number of allowed image members for this image. Attempted: %d, Maximum: %d", len(existing)+1, MaxMembers)
		}
		err = tx.Create(store.Record{Kind: kindMember, ID: memberKey(imageID, memberID), Ref: imageID, Value: m})
		if errors.Is(err, store.ErrConflict) {
			return fault.New(fault.Conflict, "Member %s already associated with image %s", memberID, imageID)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// readMembers returns the image and the members the caller may see: all of
// them for the owner and admins, its own membership for a member.
func readMembers(tx store.ReadTx, c *policy.Credentials, imageID string) (*Image, []Member, error) {
	im, err := getVisible(tx, c, imageID)
	if err != nil {
		return nil, nil, err
	}
	if err := onlyShared(im); err != nil {
		return nil, nil, err
	}
	ms, err := store.List[Member](tx, kindMember, store.ListOptions{Ref: imageID})
	if err != nil {
		return nil, nil, err
	}
	if !canWrite(c, im) && !c.IsReader() && im.Owner != c.ProjectID {
		ms = slices.DeleteFunc(ms, func(m Member) bool { return m.MemberID != c.ProjectID })
	}
	return im, ms, nil
}

// ListMembers lists an image's members.
func (s *Service) ListMembers(ctx context.Context, imageID string) ([]Member, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	var out []Member
	err = s.st.Read(ctx, func(tx store.ReadTx) (err error) {
		_, out, err = readMembers(tx, c, imageID)
		return err
	})
	return out, err
}

// GetMember returns one membership.
func (s *Service) GetMember(ctx context.Context, imageID, memberID string) (*Member, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	var out *Member
	err = s.st.Read(ctx, func(tx store.ReadTx) error {
		_, ms, err := readMembers(tx, c, imageID)
		if err != nil {
			return err
		}
		for _, m := range ms {
			if m.MemberID == memberID {
				out = &m
				return nil
			}
		}
		return memberNotFound(imageID, memberID)
	})
	return out, err
}

// UpdateMember sets a membership's status; only the member project itself
// may accept or reject an image shared with it.
func (s *Service) UpdateMember(ctx context.Context, imageID, memberID, status string) (*Member, error) {
	c, err := creds(ctx)
	if err != nil {
		return nil, err
	}
	if !slices.Contains([]string{MemberPending, MemberAccepted, MemberRejected}, status) {
		return nil, badRequest("Invalid status: %s", status)
	}
	var out *Member
	err = s.st.Write(ctx, func(tx store.Tx) error {
		_, ms, err := readMembers(tx, c, imageID)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(ms, func(m Member) bool { return m.MemberID == memberID })
		if i < 0 {
			return memberNotFound(imageID, memberID)
		}
		if c.ProjectID != memberID || !c.CanWriteProject(memberID) {
			return forbidden("You are not permitted to modify 'status' on this image member.")
		}
		m := ms[i]
		m.Status, m.UpdatedAt = status, s.now()
		out = &m
		return tx.Update(store.Record{Kind: kindMember, ID: memberKey(imageID, memberID), Ref: imageID, Value: m})
	})
	return out, err
}

// DeleteMember stops sharing an image with a project (owner or admin).
func (s *Service) DeleteMember(ctx context.Context, imageID, memberID string) error {
	c, err := creds(ctx)
	if err != nil {
		return err
	}
	return s.st.Write(ctx, func(tx store.Tx) error {
		im, err := getVisible(tx, c, imageID)
		if err != nil {
			return err
		}
		if !canWrite(c, im) {
			return forbidden("You are not permitted to delete members of image %s.", imageID)
		}
		err = tx.Delete(kindMember, memberKey(imageID, memberID))
		if errors.Is(err, store.ErrNotFound) {
			return memberNotFound(imageID, memberID)
		}
		return err
	})
}
