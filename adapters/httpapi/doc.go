// Package httpapi is helpdeskd's REST API (docs/contract.md §4, docs/api.md): a chi router that authenticates API
// keys, decodes requests strictly, calls the use cases of core.Service and answers every
// request, success or failure, in the one JSON envelope of the customer panel
// ({"succeeded", "message", "data", "pageNumber", "pageSize", "totalPages", "totalRecords"}).
//
// Domain errors become status codes in exactly one place (statusFor, used by writeError);
// handlers only decode, call core and pick the success message. The package holds no
// business rules — who may see or change what is decided in core — and knows nothing of
// SQL, mail or Telegram: the Telegram link code comes in through Options.LinkTelegram.
package httpapi
