package telegram

// SetBeforeAck installs a hook that runs after an update's change is committed and before
// the update is finished (its dialogue and offset stored); an error stops there.
func (g *Bot) SetBeforeAck(f func(updateID int64) error) { g.beforeAck = f }
