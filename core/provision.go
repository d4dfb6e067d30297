package core

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/mail"
	"sort"
	"strings"
	"unicode/utf8"
)

// Name limits for provisioned records.
const (
	MaxNameChars  = 200
	MaxEmailChars = 254
)

// APIKeyPrefix starts every key, so a leaked key is recognisable in logs and scanners.
const APIKeyPrefix = "hdk_"

// Authenticate returns the user of an API key. Returns EUNAUTHORIZED for a missing,
// unknown or revoked key.
func (s *Service) Authenticate(ctx context.Context, key string) (*User, error) {
	u, _, err := s.AuthenticateKey(ctx, key)
	return u, err
}

// AuthenticateKey is Authenticate that also returns the key's identity: the hash the key is
// stored under, the same for every spelling of the key that authenticates (spaces around
// it are trimmed), so that what is counted per key — the rate limit — cannot be reset by
// respelling the key. Returns EUNAUTHORIZED for a missing, unknown or revoked key.
func (s *Service) AuthenticateKey(ctx context.Context, key string) (*User, string, error) {
	key = strings.TrimSpace(key)
	if key == "" {
		return nil, "", Errorf(EUNAUTHORIZED, "Missing API key: send X-API-Key or Authorization: Bearer.")
	}
	hash := HashAPIKey(key)
	u, gen := s.keys.get(hash)
	if u != nil {
		return u, hash, nil
	}
	err := s.store.Read(ctx, func(tx ReadTx) error {
		var err error
		u, err = tx.UserByAPIKeyHash(ctx, hash)
		return err
	})
	if ErrorCode(err) == ENOTFOUND {
		return nil, "", Errorf(EUNAUTHORIZED, "Invalid API key.")
	}
	if err != nil {
		return nil, "", err
	}
	s.keys.put(hash, u, gen)
	return u, hash, nil
}

// HashAPIKey returns the stored form of a key. Keys carry 256 random bits, so a plain
// SHA-256 is enough: there is nothing to brute-force.
func HashAPIKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

func requireAdmin(actor Actor) error {
	if actor.User == nil {
		return Errorf(EUNAUTHORIZED, "Authentication required.")
	}
	if actor.User.Role != RoleAdmin {
		return Errorf(EFORBIDDEN, "Only admins can provision.")
	}
	return nil
}

func checkName(bad *FieldErrors, field, name string) string {
	name = oneLineField(name)
	switch {
	case name == "":
		bad.Add(field, "must not be empty")
	case !utf8.ValidString(name):
		bad.Add(field, "must be valid UTF-8")
	case utf8.RuneCountInString(name) > MaxNameChars:
		bad.Add(field, atMostChars(MaxNameChars))
	case hasLineControl(name):
		bad.Add(field, lineControlMsg)
	}
	return name
}

func checkID(bad *FieldErrors, field string, id int64) {
	if id <= 0 {
		bad.Add(field, "must be a positive integer")
	}
}

// PutAccount creates or updates an account under the panel's ID.
func (s *Service) PutAccount(ctx context.Context, actor Actor, a Account) (*Account, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, err
	}
	var bad FieldErrors
	checkID(&bad, "id", a.ID)
	a.Name = checkName(&bad, "name", a.Name)
	if err := bad.Err(); err != nil {
		return nil, err
	}
	err := s.store.Write(ctx, func(tx Tx) error {
		now := s.clock.Now()
		a.CreatedAt, a.UpdatedAt = now, now
		return tx.PutAccount(ctx, &a)
	})
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// PutUser creates or updates a user under the panel's ID, with their memberships.
// Returns EINVALID for bad fields or a missing account, ECONFLICT for an email another
// user has.
func (s *Service) PutUser(ctx context.Context, actor Actor, u User) (*User, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, err
	}
	var bad FieldErrors
	checkID(&bad, "id", u.ID)
	u.Name = checkName(&bad, "name", u.Name)
	u.Email = strings.ToLower(strings.TrimSpace(u.Email))
	if addr, err := mail.ParseAddress(u.Email); err != nil || addr.Address != u.Email || len(u.Email) > MaxEmailChars {
		bad.Add("email", "must be a valid email address")
	}
	if u.Role == "" {
		u.Role = RoleCustomer
	}
	if !u.Role.Valid() {
		bad.Add("role", "must be customer, staff or admin")
	}
	ids := map[int64]bool{}
	var accounts []int64
	for _, id := range u.AccountIDs {
		if id <= 0 {
			bad.Add("accountIds", "must be positive integers")
			break
		}
		if !ids[id] {
			ids[id] = true
			accounts = append(accounts, id)
		}
	}
	sort.Slice(accounts, func(i, j int) bool { return accounts[i] < accounts[j] })
	u.AccountIDs = accounts
	if u.DefaultAccountID != 0 && !ids[u.DefaultAccountID] {
		bad.Add("defaultAccountId", "must be one of accountIds")
	}
	if lang, ok := CanonicalLanguage(u.Language); ok {
		u.Language = lang
	} else {
		bad.Add("language", "must be a language tag such as en, es or pt-BR")
	}
	if err := bad.Err(); err != nil {
		return nil, err
	}
	err := s.store.Write(ctx, func(tx Tx) error {
		for _, id := range u.AccountIDs {
			if _, err := tx.Account(ctx, id); ErrorCode(err) == ENOTFOUND {
				return Invalid("accountIds", "account "+itoa(id)+" does not exist")
			} else if err != nil {
				return err
			}
		}
		now := s.clock.Now()
		u.CreatedAt, u.UpdatedAt = now, now
		return tx.PutUser(ctx, &u)
	})
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// PutProperty creates or updates a property under the panel's ID.
// Returns EINVALID for bad fields or a missing account.
func (s *Service) PutProperty(ctx context.Context, actor Actor, p Property) (*Property, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, err
	}
	var bad FieldErrors
	checkID(&bad, "id", p.ID)
	checkID(&bad, "accountId", p.AccountID)
	p.Name = checkName(&bad, "name", p.Name)
	if err := bad.Err(); err != nil {
		return nil, err
	}
	err := s.store.Write(ctx, func(tx Tx) error {
		if _, err := tx.Account(ctx, p.AccountID); ErrorCode(err) == ENOTFOUND {
			return Invalid("accountId", "account does not exist")
		} else if err != nil {
			return err
		}
		now := s.clock.Now()
		p.CreatedAt, p.UpdatedAt = now, now
		return tx.PutProperty(ctx, &p)
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// CreateAPIKey makes a new random key for a user and returns it with the key itself,
// which is shown this once and never stored. Returns ENOTFOUND for a missing user.
func (s *Service) CreateAPIKey(ctx context.Context, actor Actor, userID int64) (*APIKey, string, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, "", err
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, "", err
	}
	key := APIKeyPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	k := &APIKey{UserID: userID, Hash: HashAPIKey(key), Prefix: key[:len(APIKeyPrefix)+6], CreatedAt: s.clock.Now()}
	err := s.store.Write(ctx, func(tx Tx) error {
		if _, err := tx.User(ctx, userID); ErrorCode(err) == ENOTFOUND {
			return Errorf(ENOTFOUND, "User %d not found.", userID)
		} else if err != nil {
			return err
		}
		return tx.CreateAPIKey(ctx, k)
	})
	if err != nil {
		return nil, "", err
	}
	return k, key, nil
}

// DeleteAPIKey revokes a key; it stops working at once. Returns ENOTFOUND for no such key.
func (s *Service) DeleteAPIKey(ctx context.Context, actor Actor, userID, keyID int64) error {
	if err := requireAdmin(actor); err != nil {
		return err
	}
	return s.store.Write(ctx, func(tx Tx) error {
		err := tx.DeleteAPIKey(ctx, userID, keyID)
		if ErrorCode(err) == ENOTFOUND {
			return Errorf(ENOTFOUND, "API key not found.")
		}
		return err
	})
}

// System is the actor for provisioning from the command line, which runs with the
// rights of whoever can open the database.
func System() Actor {
	return Actor{User: &User{Role: RoleAdmin, Name: "system"}, Channel: ChannelAPI}
}
