package compute

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/nubo-cloud/nubo/internal/fault"
	"github.com/nubo-cloud/nubo/internal/store"
)

// Keypair names before microversion 2.92 (Nova's keypair_name_20 format).
var keypairNameRe = regexp.MustCompile(`^[a-zA-Z0-9 _-]+$`)

func keypairKey(userID, name string) string { return userID + "/" + name }

func keypairNotFound(userID, name string) error {
	return notFound("Keypair %s not found for user %s", name, userID)
}

// KeypairRequest creates or imports a keypair.
type KeypairRequest struct {
	Name string
	// Type is "ssh" or "x509" ("" is ssh).
	Type string
	// PublicKey imports a key; empty generates one (ssh only).
	PublicKey string
	// UserID makes an admin create the keypair for another user (2.10).
	UserID string
}

// CreateKeypair imports or generates a keypair for the caller (or, for an
// admin, for UserID).
func (s *Service) CreateKeypair(ctx context.Context, req KeypairRequest) (*Keypair, error) {
	c := creds(ctx)
	userID := c.UserID
	if req.UserID != "" && req.UserID != userID {
		if !c.IsAdmin() {
			return nil, forbidden()
		}
		userID = req.UserID
	}
	if req.Name == "" || len(req.Name) > 255 || !keypairNameRe.MatchString(req.Name) || strings.TrimSpace(req.Name) != req.Name {
		return nil, badRequest("Keypair data is invalid: Keypair name contains unsafe characters or is not 1 to 255 characters long.")
	}
	if req.Type == "" {
		req.Type = KeypairSSH
	}
	kp := Keypair{Name: req.Name, UserID: userID, Type: req.Type, CreatedAt: s.now()}
	var err error
	switch {
	case req.PublicKey != "" && req.Type == KeypairSSH:
		kp.PublicKey, kp.Fingerprint, err = parseSSHKey(req.PublicKey)
	case req.PublicKey != "" && req.Type == KeypairX509:
		kp.PublicKey, kp.Fingerprint, err = parseX509(req.PublicKey)
	case req.Type == KeypairSSH:
		kp.PublicKey, kp.PrivateKey, kp.Fingerprint, err = generateSSH(req.Name)
	case req.Type == KeypairX509:
		kp.PublicKey, kp.PrivateKey, kp.Fingerprint, err = generateX509(req.Name)
	default:
		err = badRequest("Invalid input for field/attribute type. Value: %s. 'ssh' or 'x509' expected.", req.Type)
	}
	if err != nil {
		return nil, err
	}
	err = s.write(ctx, func(tx store.Tx) error {
		if _, err := tx.Lookup(KindKeypair, keypairKey(userID, req.Name)); err == nil {
			return conflict("Key pair '%s' already exists.", req.Name)
		}
		q, err := effectiveQuota(tx, c.ProjectID, userID)
		if err != nil {
			return err
		}
		have, err := tx.List(KindKeypair, store.ListOptions{Ref: userID})
		if err != nil {
			return err
		}
		if l := q["key_pairs"]; l >= 0 && int64(len(have))+1 > l {
			return fault.New(fault.Forbidden, "Quota exceeded, too many key pairs.")
		}
		if kp.Seq, err = nextSeq(tx, "keypair"); err != nil {
			return err
		}
		return tx.Create(store.Record{Kind: KindKeypair, ID: newID(), Ref: userID, Unique: []string{keypairKey(userID, req.Name)}, Value: kp})
	})
	if err != nil {
		return nil, err
	}
	return &kp, nil
}

func invalidKey(err error) error {
	return fault.Wrap(fault.BadRequest, err, "Keypair data is invalid: failed to generate fingerprint")
}

func parseSSHKey(s string) (string, string, error) {
	pk, comment, _, rest, err := ssh.ParseAuthorizedKey([]byte(s))
	if err != nil || strings.TrimSpace(string(rest)) != "" {
		return "", "", invalidKey(err)
	}
	_ = comment
	return strings.TrimSpace(s), ssh.FingerprintLegacyMD5(pk), nil
}

func parseX509(s string) (string, string, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return "", "", invalidKey(errors.New("no PEM block"))
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return "", "", invalidKey(err)
	}
	return s, colonHex(sha1.Sum(cert.Raw)), nil
}

func colonHex(b [20]byte) string {
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = fmt.Sprintf("%02x", c)
	}
	return strings.Join(parts, ":")
}

// generateSSH makes an ed25519 key: fast, and read by every OpenSSH since 6.5.
func generateSSH(comment string) (pub, priv, fp string, err error) {
	pk, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", "", err
	}
	spk, err := ssh.NewPublicKey(pk)
	if err != nil {
		return "", "", "", err
	}
	block, err := ssh.MarshalPrivateKey(sk, comment)
	if err != nil {
		return "", "", "", err
	}
	pub = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(spk))) + " Generated-by-Nubo"
	return pub, string(pem.EncodeToMemory(block)), ssh.FingerprintLegacyMD5(spk), nil
}

// generateX509 makes a self-signed ed25519 certificate for Windows-style
// password encryption keypairs.
func generateX509(name string) (pub, priv, fp string, err error) {
	pk, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", "", err
	}
	der, err := x509.CreateCertificate(rand.Reader, selfSigned(name), selfSigned(name), pk, sk)
	if err != nil {
		return "", "", "", err
	}
	p8, err := x509.MarshalPKCS8PrivateKey(sk)
	if err != nil {
		return "", "", "", err
	}
	pub = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	priv = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}))
	return pub, priv, colonHex(sha1.Sum(der)), nil
}

// ListKeypairs returns the keypairs of userID ("" for the caller; another
// user's only for admins), ordered by name.
func (s *Service) ListKeypairs(ctx context.Context, userID string) ([]Keypair, error) {
	userID, err := keypairOwner(ctx, userID)
	if err != nil {
		return nil, err
	}
	var out []Keypair
	err = s.read(ctx, func(tx store.ReadTx) (err error) {
		out, err = store.List[Keypair](tx, KindKeypair, store.ListOptions{Ref: userID})
		return err
	})
	sortKeypairs(out)
	return out, err
}

func sortKeypairs(ks []Keypair) {
	for i := 1; i < len(ks); i++ {
		for j := i; j > 0 && ks[j].Name < ks[j-1].Name; j-- {
			ks[j], ks[j-1] = ks[j-1], ks[j]
		}
	}
}

func keypairOwner(ctx context.Context, userID string) (string, error) {
	c := creds(ctx)
	if userID == "" || userID == c.UserID {
		return c.UserID, nil
	}
	if !c.IsAdmin() {
		return "", forbidden()
	}
	return userID, nil
}

// GetKeypair returns one keypair of userID ("" for the caller).
func (s *Service) GetKeypair(ctx context.Context, userID, name string) (*Keypair, error) {
	userID, err := keypairOwner(ctx, userID)
	if err != nil {
		return nil, err
	}
	var kp *Keypair
	err = s.read(ctx, func(tx store.ReadTx) error {
		id, err := tx.Lookup(KindKeypair, keypairKey(userID, name))
		if errors.Is(err, store.ErrNotFound) {
			return keypairNotFound(userID, name)
		}
		if err != nil {
			return err
		}
		kp, err = get[Keypair](tx, KindKeypair, id, "Keypair "+name+" not found for user "+userID)
		return err
	})
	return kp, err
}

// DeleteKeypair removes one keypair of userID ("" for the caller).
func (s *Service) DeleteKeypair(ctx context.Context, userID, name string) error {
	userID, err := keypairOwner(ctx, userID)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx store.Tx) error {
		id, err := tx.Lookup(KindKeypair, keypairKey(userID, name))
		if errors.Is(err, store.ErrNotFound) {
			return keypairNotFound(userID, name)
		}
		if err != nil {
			return err
		}
		return tx.Delete(KindKeypair, id)
	})
}
