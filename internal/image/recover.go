package image

import (
	"context"

	"github.com/nubo-cloud/nubo/internal/store"
)

// Recover repairs what a crash can leave half done, and is run at start-up
// before the API serves: an upload that was streaming ("saving") returns to
// "queued" (its temporary bytes were dropped when the blob store opened); an
// import that was running returns to "uploading" when its staged data is
// still there, else to "queued"; its task is marked failed. It returns how
// many images it repaired.
func (s *Service) Recover(ctx context.Context) (int, error) {
	n := 0
	err := s.st.Write(ctx, func(tx store.Tx) error {
		images, err := store.List[Image](tx, kindImage, store.ListOptions{})
		if err != nil {
			return err
		}
		for _, im := range images {
			switch im.Status {
			case StatusSaving:
				im.Status = StatusQueued
			case StatusImporting:
				im.Status = StatusQueued
				if im.StagedKey != "" {
					im.Status = StatusUploading
				}
			default:
				continue
			}
			im.UpdatedAt = s.now()
			if err := putImage(tx, &im); err != nil {
				return err
			}
			n++
			tasks, err := store.List[Task](tx, kindTask, store.ListOptions{Ref: im.ID})
			if err != nil {
				return err
			}
			for _, t := range tasks {
				if t.Status == TaskProcessing || t.Status == TaskPending {
					t.Status, t.Message, t.UpdatedAt = TaskFailure, "Nubo restarted while the import ran.", s.now()
					if err := tx.Update(store.Record{Kind: kindTask, ID: t.ID, Ref: im.ID, Value: t}); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
	return n, err
}
