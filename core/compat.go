package core

// HomeAccount is the account a ticket opens in when the caller names none (mail, chat, the
// compatibility API): the user's default account, else their only one; 0 when neither
// decides.
func (u *User) HomeAccount() int64 {
	if u.DefaultAccountID != 0 && u.MemberOf(u.DefaultAccountID) {
		return u.DefaultAccountID
	}
	if len(u.AccountIDs) == 1 {
		return u.AccountIDs[0]
	}
	return 0
}
