package postgres

import (
	"fmt"
	"math"
	"strings"
	"unicode"

	"github.com/jackc/pgx/v5"

	"github.com/helpdeskd/helpdeskd/core"
)

// The staff queue's search, bounded as SQLite's is (core.QueueFilter.SearchCap, SearchScan):
// the matching tickets, newest matching message first, at most cap+1 of them, and with a
// filter only among the scan newest matching messages.
//
// The plan. Newest matching message first is the messages' primary key walked backwards
// with the match as a filter: no GIN index yields its hits in any order, so over the GIN
// index every hit of a word is fetched and sorted before the first is known, which for a
// word in every ticket of a million means reading the table. The key and the GIN index serve
// opposite words:
//   - a common word: the backward walk finds the newest hits at once, and the LIMIT stops it
//     after a few thousand rows;
//   - a rare word (a ticket number, an error code): the GIN index hands over its few
//     messages, sorted in memory; walking the key would read the table to find them.
// Postgres chooses between them by the word's frequency (the tsvector's most common lexemes
// that ANALYZE keeps), which it only sees when the query is a constant at planning: the
// statements run with QueryExecModeExec, an unnamed statement planned for its arguments
// each time, never a cached generic plan (which would assume one frequency for every word).
// What neither serves well is a word common long ago and absent lately: the walk then reads
// the recent messages before the first hit (SQLite's FTS5 doclists have no such case).
// Measured on 900,000 messages: a word in all of them 3 ms, in 900 of them 10-25 ms, in 9
// of them 5 ms, in the oldest 50,000 only 0.9 s.
//
// The walk itself:
//   - without a filter every hit is a ticket, so the cap alone ends it: hits are read in
//     batches (newest first, each below the last) until cap+1 tickets or no more hits;
//   - with a filter, one statement takes the scan+1 newest hits (the (scan+1)-th, if there
//     is one, is SQLite's floor: matching messages not looked at, so the count is capped),
//     joins the tickets of the scan newest to the filter and keeps the first cap+1.
// The candidates then go to queuePage as an array: the sort and the page see exactly the
// first cap of them, whatever the order asked.
//
// pg_trgm is left out: it matches substrings ("print" in "printer", "12" in ticket 123's
// text) where SQLite's FTS5 matches whole words, so it would find tickets SQLite does not.

// searchBatchMax bounds the messages one round of the unfiltered walk reads; rounds start
// at twice the cap and double.
const searchBatchMax = 1 << 16

// searchTerms are the words of text that have a letter or a digit, as SQLite's ftsQuery
// takes them; none means the search finds nothing.
func searchTerms(text string) []string {
	var terms []string
	for _, w := range strings.Fields(text) {
		if strings.IndexFunc(w, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) >= 0 {
			terms = append(terms, w)
		}
	}
	return terms
}

// tsQuery is the tsquery of terms, each an argument in args: every term must occur, and a
// term of several words ("printer-vendor", "example.com") as a phrase, as an FTS5 quoted
// string. phraseto_tsquery takes its text as words only, never as query syntax, and
// search_words splits it as the index was split. Immutable throughout, so the planner folds
// it to a constant and sees its words' frequencies.
func tsQuery(terms []string, args *queryArgs) string {
	parts := make([]string, len(terms))
	for i, w := range terms {
		parts[i] = "phraseto_tsquery('simple', search_words(" + args.add(w) + "::text))"
	}
	return "(" + strings.Join(parts, " && ") + ")"
}

// searchFiltered takes the scan+1 newest hits, then the first cap+1 tickets among the scan
// newest that pass the filter (the second %s: " AND …"), newest hit first. Each row carries
// the floor (0: at most scan hits); with no ticket found, one row with the floor alone.
const searchFiltered = `WITH hits AS MATERIALIZED (
		SELECT m.id, m.ticket_id FROM messages m WHERE m.search @@ %s ORDER BY m.id DESC LIMIT %s
	), floor AS (
		SELECT CASE WHEN count(*) > %s THEN min(id) ELSE 0 END AS id FROM hits
	), found AS (
		SELECT h.ticket_id, max(h.id) AS newest FROM hits h JOIN floor f ON h.id > f.id JOIN tickets t ON t.id = h.ticket_id
		WHERE true%s GROUP BY h.ticket_id ORDER BY newest DESC LIMIT %s
	)
	SELECT f.id, found.ticket_id FROM floor f LEFT JOIN found ON true ORDER BY found.newest DESC`

// searchRound is one round of the unfiltered walk: the hits below a message ID.
const searchRound = `SELECT m.id, m.ticket_id FROM messages m WHERE m.search @@ %s AND m.id < %s ORDER BY m.id DESC LIMIT %s`

// searchQueue is Queue with a search; where and args are the filter's conditions.
func (t *readTx) searchQueue(f core.QueueFilter, where []string, args queryArgs) ([]core.QueueItem, core.QueueCount, error) {
	list := []core.QueueItem{}
	terms := searchTerms(f.Search)
	if len(terms) == 0 {
		return list, core.QueueCount{}, nil
	}
	limit, scan := f.SearchCap, f.SearchScan
	if limit <= 0 {
		limit = core.DefaultSearchCap
	}
	if scan <= 0 {
		scan = core.DefaultSearchScan
	}
	var ids []int64
	var floor int64
	var err error
	if len(where) == 0 {
		ids, err = t.searchAll(terms, limit)
	} else {
		ids, floor, err = t.searchAmong(terms, where, args, limit, scan)
	}
	if err != nil {
		return nil, core.QueueCount{}, err
	}
	n := len(ids)
	total := core.QueueCount{N: min(n, limit), Capped: n > limit || floor > 0}
	if f.Page.Offset() >= total.N {
		return list, total, nil
	}
	var page queryArgs
	from := " FROM unnest(" + page.add(ids[:total.N]) + "::bigint[]) h (ticket_id) JOIN tickets t ON t.id = h.ticket_id"
	list, err = t.queuePage(from, page, f, min(f.Page.Size, total.N-f.Page.Offset()))
	return list, total, err
}

// searchAll walks the hits of terms newest first until limit+1 tickets, in rounds that
// double, and returns the tickets in the order of their newest hit.
func (t *readTx) searchAll(terms []string, limit int) ([]int64, error) {
	var ids []int64
	seen := map[int64]bool{}
	last := int64(math.MaxInt64)
	for batch := min(2*(limit+1), searchBatchMax); ; batch = min(2*batch, searchBatchMax) {
		var args queryArgs
		q := fmt.Sprintf(searchRound, tsQuery(terms, &args), args.add(last), args.add(batch))
		rows, err := t.tx.Query(t.ctx, q, append([]any{pgx.QueryExecModeExec}, args...)...)
		if err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		read := 0
		for rows.Next() && len(ids) <= limit {
			var id, ticketID int64
			if err := rows.Scan(&id, &ticketID); err != nil {
				rows.Close()
				return nil, fmt.Errorf("search: %w", err)
			}
			read, last = read+1, id
			if !seen[ticketID] {
				seen[ticketID] = true
				ids = append(ids, ticketID)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		if len(ids) > limit || read < batch {
			return ids, nil
		}
	}
}

// searchAmong returns the first limit+1 tickets passing the filter among the scan newest
// hits of terms, in the order of their newest hit, and the floor (0: at most scan hits).
func (t *readTx) searchAmong(terms []string, where []string, args queryArgs, limit, scan int) ([]int64, int64, error) {
	q := fmt.Sprintf(searchFiltered, tsQuery(terms, &args), args.add(scan+1), args.add(scan),
		" AND "+strings.Join(where, " AND "), args.add(limit+1))
	rows, err := t.tx.Query(t.ctx, q, append([]any{pgx.QueryExecModeExec}, args...)...)
	if err != nil {
		return nil, 0, fmt.Errorf("search: %w", err)
	}
	var ids []int64
	var floor int64
	for rows.Next() {
		var ticketID *int64
		if err := rows.Scan(&floor, &ticketID); err != nil {
			rows.Close()
			return nil, 0, fmt.Errorf("search: %w", err)
		}
		if ticketID != nil {
			ids = append(ids, *ticketID)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("search: %w", err)
	}
	return ids, floor, nil
}
