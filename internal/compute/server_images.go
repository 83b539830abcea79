package compute

import (
	"context"

	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/image"
)

// Nova's image proxy (/images, before 2.36) reads the Image service with
// the caller's credentials.

func (s *Service) imageService() (Images, error) {
	if s.images == nil {
		return nil, fault.New(fault.Unavailable, "The Image service is not available.")
	}
	return s.images, nil
}

// Image returns an image the caller may see (404 "Image not found.").
func (s *Service) Image(ctx context.Context, id string) (*image.Image, error) {
	im, err := s.imageService()
	if err != nil {
		return nil, err
	}
	img, err := im.Get(ctx, id)
	if fault.Is(err, fault.NotFound) {
		return nil, notFound("Image not found.")
	}
	return img, err
}

// ListImages returns the images the caller may see, newest first.
func (s *Service) ListImages(ctx context.Context) ([]image.Image, error) {
	im, err := s.imageService()
	if err != nil {
		return nil, err
	}
	list, _, err := im.List(ctx, image.ListOptions{Limit: 1000})
	return list, err
}

// DeleteImage deletes an image the caller may change.
func (s *Service) DeleteImage(ctx context.Context, id string) error {
	im, err := s.imageService()
	if err != nil {
		return err
	}
	err = im.Delete(ctx, id)
	if fault.Is(err, fault.NotFound) {
		return notFound("Image not found.")
	}
	return err
}
