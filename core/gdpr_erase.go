package core

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Erasure of a user (GDPR art. 17): their personal data goes, the account's conversation
// stays. docs/privacy.md lists what is removed and what is kept.

// ErasedName is the name an erased user keeps.
const ErasedName = "Erased user"

// minNamePart is the shortest word of a name scrubbed from texts on its own: shorter ones
// ("Al", "O") are too often parts of other words.
const minNamePart = 3

// ErasedEmail is the address an erased user keeps: unique (users' addresses are), and in
// the .invalid domain, which never receives mail.
func ErasedEmail(userID int64) string { return "erased-" + itoa(userID) + "@erased.invalid" }

// ErasureResult says what an erasure did besides the rows: the files removed, and what is
// left for later because the blob store or the store's files could not be cleaned now (the
// blob sweep and the next checkpoint finish it).
type ErasureResult struct {
	UserID       int64
	Files        int
	FilesLeft    int
	ScrubPending bool
}

// EraseUser erases a user's personal data for an admin and writes "user.erase" to the
// audit log: their name and address become placeholders, their Telegram link, API keys
// and language go, their messages stay with the author anonymised and their attachments
// and raw mails are deleted, and the texts of their tickets, notifications, inbound
// records and the change log are scrubbed of their name and address. Returns ENOTFOUND
// for no such user, EINVALID for the admin's own account.
func (s *Service) EraseUser(ctx context.Context, actor Actor, userID int64) (*ErasureResult, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, err
	}
	if actor.User.ID == userID {
		return nil, Invalid("id", "an admin cannot erase their own account")
	}
	res := &ErasureResult{UserID: userID}
	var hashes []string
	err := s.store.Write(ctx, func(tx Tx) error {
		u, err := tx.User(ctx, userID)
		if ErrorCode(err) == ENOTFOUND {
			return Errorf(ENOTFOUND, "User %d not found.", userID)
		} else if err != nil {
			return err
		}
		hashes, err = tx.EraseUser(ctx, Erasure{UserID: u.ID, Email: u.Email, TelegramID: u.TelegramID,
			Name: ErasedName, Placeholder: ErasedEmail(u.ID), Scrub: scrubber(u), At: s.clock.Now()})
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, "user.erase", "user:"+itoa(userID), fmt.Sprintf("%d files deleted", len(dedupe(hashes))))
	})
	// The user's keys and address changed: no cached key may still authenticate as them.
	s.keys.invalidate()
	if err != nil {
		return nil, err
	}
	res.Files, res.FilesLeft = s.removeBlobs(ctx, hashes)
	if fs, ok := s.base.(FileScrubber); ok && fs.ScrubFiles(ctx) != nil {
		res.ScrubPending = true
	}
	return res, nil
}

// removeBlobs removes the bytes of hashes that nothing references any more, at once where
// the blob store can (BlobRemover); it returns how many hashes it handled and how many it
// could not, which the blob sweep removes later as unreferenced.
func (s *Service) removeBlobs(ctx context.Context, hashes []string) (done, left int) {
	for _, h := range dedupe(hashes) {
		var err error
		if r, ok := s.blobs.(BlobRemover); ok {
			err = r.Remove(ctx, h)
		} else {
			err = s.blobs.Discard(ctx, h)
		}
		if err != nil {
			left++
		} else {
			done++
		}
	}
	return done, left
}

func dedupe(list []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range list {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// scrubTerm is one thing a scrubber replaces, matched case-insensitively as a whole word.
type scrubTerm struct {
	re   *regexp.Regexp
	with string
}

// scrubber returns a function that replaces u's address, name and each word of the name
// of at least minNamePart letters, as whole words and in any case, with the placeholders.
// The address goes first (it may contain the name), then the longest terms.
func scrubber(u *User) func(string) string {
	var terms []scrubTerm
	seen := map[string]bool{}
	add := func(s, with string) {
		if s = strings.TrimSpace(s); s == "" || seen[strings.ToLower(s)] {
			return
		}
		seen[strings.ToLower(s)] = true
		terms = append(terms, scrubTerm{re: regexp.MustCompile(`(?i)` + regexp.QuoteMeta(s)), with: with})
	}
	add(u.Email, ErasedEmail(u.ID))
	names := []string{u.Name}
	for _, w := range strings.FieldsFunc(u.Name, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if utf8.RuneCountInString(w) >= minNamePart {
			names = append(names, w)
		}
	}
	sort.SliceStable(names, func(i, j int) bool { return len(names[i]) > len(names[j]) })
	for _, n := range names {
		add(n, ErasedName)
	}
	return func(s string) string {
		for _, t := range terms {
			s = replaceWords(s, t)
		}
		return s
	}
}

// replaceWords replaces t's matches in s that are not part of a longer word.
func replaceWords(s string, t scrubTerm) string {
	idx := t.re.FindAllStringIndex(s, -1)
	if idx == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, m := range idx {
		before, _ := utf8.DecodeLastRuneInString(s[:m[0]])
		after, _ := utf8.DecodeRuneInString(s[m[1]:])
		if wordRune(before) || wordRune(after) {
			continue
		}
		b.WriteString(s[last:m[0]])
		b.WriteString(t.with)
		last = m[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

func wordRune(r rune) bool {
	return r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsDigit(r))
}
