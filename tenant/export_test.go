package tenant

// TxBegun reports whether tx sent its BEGIN (tests of the lazy begin).
func TxBegun(tx Tx) bool { return tx.st != nil && tx.st.begin.begun }

// TxDurable reports whether tx's commit waits for the WAL flush after
// Durable.
func TxDurable(tx Tx) bool { return tx.st != nil && tx.st.durable }

// CopiesListening reports whether ListenCopies is subscribed.
func CopiesListening() bool { return copiesBus.Load() != nil }
