package tenant

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/lanyard-id/lanyard/internal/errx"
)

// DefaultCell is the name of the one Postgres cluster every deployment has.
const DefaultCell = "default"

// DB gives tenant-scoped transactions. It knows which Postgres cluster
// ("cell") holds each project; today every project lives in the default
// cell, which also holds the platform schema.
type DB struct {
	platform *pgxpool.Pool
	cells    map[string]*lanes
	outer    chan struct{} // see NestingSlot
}

// NewDB returns a DB with one cell. Its projects' transactions take their
// connections from lanePools (see OpenLanes) or, without any, from the
// platform pool.
func NewDB(platform *pgxpool.Pool, lanePools ...*pgxpool.Pool) *DB {
	if len(lanePools) == 0 {
		lanePools = []*pgxpool.Pool{platform}
	}
	l := newLanes(lanePools)
	return &DB{platform: platform, cells: map[string]*lanes{DefaultCell: l},
		outer: make(chan struct{}, max(1, l.total()/2))}
}

// NestingSlot must be held by a transaction whose code may acquire a
// second connection before it ends (a flow submission that reads a session
// or a cached setting through the pool while its transaction is open). At
// most half the pool's connections are held by such transactions, so the
// second acquisitions always find a free connection: without the bound,
// a burst of requests takes every connection for their first transactions
// and then all wait for a second one that never frees up. release returns
// the slot; the error is ctx's when it ends while waiting.
func (db *DB) NestingSlot(ctx context.Context) (release func(), err error) {
	select {
	case db.outer <- struct{}{}:
		return func() { <-db.outer }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Platform returns the pool of the control schema. Only platform-level
// stores (projects, workspaces, keys, billing) use it.
func (d *DB) Platform() *pgxpool.Pool { return d.platform }

func (d *DB) lanes(p *Project) (*lanes, error) {
	if p == nil || p.Schema == "" || p.ID.String() == "" {
		return nil, ErrNoProject
	}
	l, ok := d.cells[p.Cell]
	if !ok {
		return nil, fmt.Errorf("tenant: project %s is placed on unknown cell %q", p.ID, p.Cell)
	}
	return l, nil
}

// Tx is a transaction pinned to one project's schema. It can only be made
// by DB.InTx, so tenant-scoped code cannot run without a project; a zero Tx
// refuses every call with ErrNoProject.
type Tx struct {
	conn    *pgx.Conn
	project *Project
	st      *txState // nil: a Tx made without InTx
}

// txState is what InTx keeps for one transaction.
type txState struct {
	settings  settingsMemo
	ended     []func()
	outboxDue time.Time // MarkOutboxDue's deferred write (zero: none)
	begin     lazyBegin
	durable   bool         // Durable was called
	queued    []queuedStmt // Queue's writes, not sent yet
	flushes   int          // times queued was sent (or dropped with an error)
	inserted  map[uuid.UUID]bool
}

// queuedStmt is a statement waiting to be sent with the next one.
type queuedStmt struct {
	sql  string
	args []any
}

// Durable makes the commit of a transaction opened with
// TxOptions.AsyncCommit wait for the WAL flush after all: code that writes
// what must survive a crash (an outbox row, a hook delivery) calls it.
// Other transactions always wait.
func (t Tx) Durable() {
	if t.st != nil {
		t.st.durable = true
	}
}

// lazyBegin is the BEGIN of a transaction made by InTx, sent with its
// first statement: a transaction that only reads settings the process
// already holds (TxOptions.CachedSettings) costs no round trip, and one
// that runs a statement the connection has prepared before costs none of
// its own (BEGIN, the schema pin and the statement go out as one
// pipelined batch).
type lazyBegin struct {
	sql    string   // on the simple protocol, in one round trip of its own
	parts  []string // the same for a batch: BEGIN and SET LOCALs
	schema string   // quoted identifier for the search_path pin
	begun  bool
	err    error
}

// pending reports whether the next statement must carry the BEGIN or
// queued writes with it.
func (t Tx) pending() bool {
	return t.st != nil && (!t.st.begin.begun || len(t.st.queued) > 0)
}

// ready sends what is pending (the BEGIN, queued writes) on its own, for
// the calls that cannot carry it (CopyFrom, a caller's batch).
func (t Tx) ready(ctx context.Context) error {
	if t.conn == nil {
		return ErrNoProject
	}
	if !t.pending() {
		return nil
	}
	_, err := t.send(ctx)
	return err
}

// send sends what is pending and then last as one pipelined batch and
// returns the results positioned at last's first, which the caller reads
// and closes (with no last, send closes them). An error of the BEGIN or of a queued write is
// returned here: the transaction is then aborted (or, for the BEGIN, not
// open) and the caller's statement did not run.
func (t Tx) send(ctx context.Context, last ...*pgx.QueuedQuery) (pgx.BatchResults, error) {
	st := t.st
	lb := &st.begin
	if lb.err != nil {
		return nil, lb.err
	}
	b := &pgx.Batch{}
	head := 0 // results before the queued writes: the BEGIN's
	if !lb.begun {
		for _, part := range lb.parts {
			b.Queue(part)
		}
		b.Queue(`SELECT set_config('search_path', $1, true)`, lb.schema)
		head = b.Len()
	}
	for _, q := range st.queued {
		b.Queue(q.sql, q.args...)
	}
	skip := b.Len()
	b.QueuedQueries = append(b.QueuedQueries, last...)
	br := t.conn.SendBatch(ctx, b)
	for i := range skip {
		_, err := br.Exec()
		if err == nil {
			if i == head-1 {
				lb.begun = true
			}
			continue
		}
		_ = br.Close()
		if !lb.begun {
			var pe *pgconn.PgError
			if errors.As(err, &pe) && pe.Code == pgUndefinedTable {
				// A statement new to this connection could not be prepared:
				// the batch prepares statements before it runs any, so
				// before the schema pin. Nothing ran; begin on its own (the
				// statement is then prepared in the pinned transaction).
				if err := t.beginAlone(ctx); err != nil {
					return nil, err
				}
				// pgx kept the failed preparation's description on the
				// queries: send fresh ones.
				again := make([]*pgx.QueuedQuery, len(last))
				for i, q := range last {
					again[i] = &pgx.QueuedQuery{SQL: q.SQL, Arguments: q.Arguments, Fn: q.Fn}
				}
				return t.send(ctx, again...)
			}
			lb.err = fmt.Errorf("tenant: begin: %w", err)
			return nil, lb.err
		}
		st.queued, st.flushes = nil, st.flushes+1
		return nil, err
	}
	lb.begun = true
	st.queued, st.flushes = nil, st.flushes+1
	if len(last) == 0 {
		if err := br.Close(); err != nil {
			return nil, err
		}
		return nil, nil
	}
	return br, nil
}

// beginAlone sends the BEGIN on its own round trip.
func (t Tx) beginAlone(ctx context.Context) error {
	lb := &t.st.begin
	if _, err := t.conn.Exec(ctx, lb.sql); err != nil {
		lb.err = fmt.Errorf("tenant: begin: %w", err)
		return lb.err
	}
	lb.begun = true
	return nil
}

// Queue adds a write to the transaction that goes out with its next
// statement, or with its COMMIT, in the same round trip; a transaction
// that rolls back never sends it. For writes that cannot fail but with
// the transaction (no unique key the caller tells apart, no row count to
// check): an error of the write is returned by that next statement or by
// the commit, which rolls back.
func (t Tx) Queue(sql string, args ...any) {
	if t.st == nil { // a zero Tx: its next statement fails with ErrNoProject
		return
	}
	t.st.queued = append(t.st.queued, queuedStmt{sql: sql, args: args})
}

// QueueAmendable is Queue for a write whose arguments may still change
// before it goes out: amend replaces them while the write waits and
// reports false, changing nothing, once it has been sent (the caller then
// writes the change itself).
func (t Tx) QueueAmendable(sql string, args ...any) (amend func(args ...any) bool) {
	t.Queue(sql, args...)
	if t.st == nil {
		return func(...any) bool { return false }
	}
	st, at, flushes := t.st, len(t.st.queued)-1, t.st.flushes
	return func(args ...any) bool {
		if st.flushes != flushes {
			return false
		}
		st.queued[at].args = args
		return true
	}
}

// MarkInserted records that the transaction inserted the row id: until
// it commits, nothing outside it can have seen the row or kept a copy.
func (t Tx) MarkInserted(id uuid.UUID) {
	if t.st == nil {
		return
	}
	if t.st.inserted == nil {
		t.st.inserted = map[uuid.UUID]bool{}
	}
	t.st.inserted[id] = true
}

// Inserted reports whether MarkInserted recorded id in this transaction.
func (t Tx) Inserted(id uuid.UUID) bool { return t.st != nil && t.st.inserted[id] }

// OnEnd registers fn to run once the transaction has ended, committed or
// rolled back, right after the statement that ended it returned. fn does
// not run when the end is unknown (COMMIT failed on the wire) or a panic
// ends it. OnEnd reports false, registering nothing, for a Tx that was not
// made by InTx; its caller must find the end another way.
func (t Tx) OnEnd(fn func()) bool {
	if t.st == nil {
		return false
	}
	t.st.ended = append(t.st.ended, fn)
	return true
}

// Project is the project this transaction belongs to.
func (t Tx) Project() *Project { return t.project }

// Exec runs a statement in the project's schema.
func (t Tx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if t.conn == nil {
		return pgconn.CommandTag{}, ErrNoProject
	}
	if !t.pending() {
		return t.conn.Exec(ctx, sql, args...)
	}
	if len(args) == 0 && strings.Contains(sql, ";") {
		// Maybe several commands: the simple protocol only (a batch
		// prepares each statement).
		if err := t.ready(ctx); err != nil {
			return pgconn.CommandTag{}, err
		}
		return t.conn.Exec(ctx, sql)
	}
	br, err := t.send(ctx, &pgx.QueuedQuery{SQL: sql, Arguments: args})
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

// Query runs a query in the project's schema.
func (t Tx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if t.conn == nil {
		return nil, ErrNoProject
	}
	if !t.pending() {
		return t.conn.Query(ctx, sql, args...)
	}
	br, err := t.send(ctx, &pgx.QueuedQuery{SQL: sql, Arguments: args})
	if err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		_ = br.Close()
		return nil, err
	}
	return &batchRows{Rows: rows, br: br}, nil
}

// QueryRow runs a one-row query in the project's schema.
func (t Tx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if t.conn == nil {
		return errRow{ErrNoProject}
	}
	if !t.pending() {
		return t.conn.QueryRow(ctx, sql, args...)
	}
	br, err := t.send(ctx, &pgx.QueuedQuery{SQL: sql, Arguments: args})
	if err != nil {
		return errRow{err}
	}
	return batchRow{br}
}

// batchRows are the rows of a statement sent in a batch; closing them
// closes the batch.
type batchRows struct {
	pgx.Rows
	br     pgx.BatchResults
	closed bool
	err    error
}

func (r *batchRows) Close() {
	r.Rows.Close()
	if !r.closed {
		r.closed = true
		r.err = r.br.Close()
	}
}

func (r *batchRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.err
}

// batchRow is the one row of a statement sent in a batch.
type batchRow struct{ br pgx.BatchResults }

func (r batchRow) Scan(dest ...any) error {
	err := r.br.QueryRow().Scan(dest...)
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	return err
}

// CopyFrom bulk-loads rows into a table of the project's schema.
func (t Tx) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	if err := t.ready(ctx); err != nil {
		return 0, err
	}
	return t.conn.CopyFrom(ctx, table, columns, src)
}

// SendBatch sends queued queries in one round trip (with the BEGIN and
// queued writes, if any).
func (t Tx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if t.conn == nil {
		return errBatch{ErrNoProject}
	}
	if !t.pending() || b.Len() == 0 {
		return t.conn.SendBatch(ctx, b)
	}
	br, err := t.send(ctx, b.QueuedQueries...)
	if err != nil {
		return errBatch{err}
	}
	return br
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

type errBatch struct{ err error }

func (b errBatch) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, b.err }
func (b errBatch) Query() (pgx.Rows, error)         { return nil, b.err }
func (b errBatch) QueryRow() pgx.Row                { return errRow{b.err} }
func (b errBatch) Close() error                     { return b.err }
func (errBatch) Tx() pgx.Tx                         { return nil }

// TxOptions says how InTx opens its transaction.
type TxOptions struct {
	ReadOnly bool
	// CachedSettings lets the transaction's settings come from the
	// process's copy of the project's settings, read at most SettingsTTL
	// ago (see settings.go): for reads that may lag a change made by
	// another process by a few seconds, as flows reading their project's
	// configuration may. Never for a read-modify-write of a setting.
	CachedSettings bool
	// AsyncCommit lets COMMIT return before the WAL is flushed to disk
	// (synchronous_commit off for this transaction): a crash in the next
	// few hundred milliseconds may lose it. For rows whose loss is
	// harmless, such as a new self-service flow (the client starts
	// another); Tx.Durable, which MarkOutboxDue calls, turns it off.
	AsyncCommit bool
	// Snapshot runs the transaction at REPEATABLE READ, so that all its
	// statements see the database as it was at the first: for a read made
	// of several statements (a row and its children) that must agree.
	Snapshot bool
}

// InTx runs fn in a transaction whose search_path is the project's schema,
// for that transaction only. fn's error rolls back; otherwise it commits.
// A nil project returns ErrNoProject without touching the database.
func (d *DB) InTx(ctx context.Context, p *Project, fn func(Tx) error) error {
	return d.InTxOpts(ctx, p, TxOptions{}, fn)
}

// InTxOpts is InTx with options.
//
// The BEGIN and the schema pin (set_config('search_path', ..., true); the
// schema name comes from the project row and is checked against the
// schema-name pattern, never from request data) go out in one pipelined
// batch with the transaction's first statement, and the COMMIT with what
// Tx.Queue queued: a one-query transaction costs two round trips, one
// that only writes queued rows costs one, and one that sends nothing (it
// only read cached settings) costs none and ends without COMMIT. When the
// first statement is new to the connection (it must be prepared before
// the pin runs) or holds several commands, the BEGIN takes a round trip
// of its own.
func (d *DB) InTxOpts(ctx context.Context, p *Project, o TxOptions, fn func(Tx) error) (err error) {
	cell, err := d.lanes(p)
	if err != nil {
		return err
	}
	if !schemaNameRE.MatchString(p.Schema) {
		return fmt.Errorf("tenant: project %s has an invalid schema name", p.ID)
	}
	pc, err := cell.acquire(ctx, p.Schema)
	if err != nil {
		return err
	}
	conn := pc.Conn()
	broken := false
	defer func() {
		if broken {
			// The session is in an unknown state: never reuse it.
			_ = conn.Close(context.WithoutCancel(ctx))
		}
		pc.Release()
	}()
	start := "BEGIN"
	if o.ReadOnly {
		start += " READ ONLY"
	}
	if o.Snapshot {
		start += " ISOLATION LEVEL REPEATABLE READ"
	}
	parts := []string{start}
	if o.AsyncCommit {
		parts = append(parts, "SET LOCAL synchronous_commit = off")
	}
	begin := strings.Join(parts, "; ")
	// The quoted identifier, as an SQL string literal; safe because the
	// name matched schemaNameRE.
	schema := pgx.Identifier{p.Schema}.Sanitize()
	st := &txState{settings: settingsMemo{cached: o.CachedSettings},
		begin: lazyBegin{sql: begin + "; SELECT set_config('search_path', '" + schema + "', true)", parts: parts, schema: schema}}
	lazy := &st.begin
	defer func() {
		if lazy.err != nil {
			broken = true
		}
	}()
	runEnded := func() {
		for _, fn := range st.ended {
			fn()
		}
	}
	rollback := func() {
		if !lazy.begun {
			runEnded()
			return
		}
		if _, rerr := conn.Exec(context.WithoutCancel(ctx), "ROLLBACK"); rerr != nil {
			broken = true
			return
		}
		runEnded()
	}
	defer func() {
		if r := recover(); r != nil {
			st.ended = nil
			rollback()
			panic(r)
		}
	}()
	tx := Tx{conn: conn, project: p, st: st}
	if err := fn(tx); err != nil {
		rollback()
		return err
	}
	if !st.outboxDue.IsZero() {
		queueOutboxDue(tx, st.outboxDue)
	}
	if !lazy.begun && len(st.queued) == 0 { // nothing sent, nothing to write
		runEnded()
		return nil
	}
	if o.AsyncCommit && st.durable {
		tx.Queue("SET LOCAL synchronous_commit = on")
	}
	// The COMMIT carries what is still queued (and the BEGIN of a
	// transaction that only wrote queued rows): one round trip.
	tag, err := tx.Exec(ctx, "COMMIT")
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && lazy.err == nil {
			// Postgres refused a write or the commit: the transaction
			// is aborted or over, the connection is fine.
			rollback()
			return fmt.Errorf("tenant: commit: %w", err)
		}
		broken = true
		return fmt.Errorf("tenant: commit: %w", err)
	}
	runEnded()
	if tag.String() == "ROLLBACK" { // the transaction had failed
		return pgx.ErrTxCommitRollback
	}
	return nil
}

var schemaNameRE = regexp.MustCompile(`^p_[a-z0-9]{1,60}$`)

// Postgres error codes the stores map to errx codes.
const (
	pgUniqueViolation     = "23505"
	pgForeignKeyViolation = "23503"
	pgUndefinedTable      = "42P01"
)

func isForeignKeyViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == pgForeignKeyViolation
}

// IsUniqueViolation reports whether err is a Postgres unique violation, and
// on which constraint.
func IsUniqueViolation(err error) (string, bool) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == pgUniqueViolation {
		return pe.ConstraintName, true
	}
	return "", false
}

// NotFoundIfNoRows maps pgx.ErrNoRows to an errx.NotFound with reason.
func NotFoundIfNoRows(err error, reason string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return errx.New(errx.NotFound, reason).Wrap(err)
	}
	return err
}

// Read runs one read-only query in the project's schema, in a single
// round trip once the connection has the statement prepared: the schema
// pin and the query go out as one pipelined batch, which Postgres runs as
// one implicit transaction. (A statement is prepared in the pinned
// transaction of InTx the first time a connection sees it, since the
// batch would prepare it before the pin took effect.) scan reads the
// rows; Read closes them. Use InTx for anything with more than one
// statement.
func (d *DB) Read(ctx context.Context, p *Project, sql string, args []any, scan func(pgx.Rows) error) error {
	cell, err := d.lanes(p)
	if err != nil {
		return err
	}
	if !schemaNameRE.MatchString(p.Schema) {
		return fmt.Errorf("tenant: project %s has an invalid schema name", p.ID)
	}
	pc, err := cell.acquire(ctx, p.Schema)
	if err != nil {
		return err
	}
	defer pc.Release()
	conn := pc.Conn()
	b := &pgx.Batch{}
	b.Queue(`SELECT set_config('search_path', $1, true)`, pgx.Identifier{p.Schema}.Sanitize())
	b.Queue(sql, args...)
	br := conn.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		_ = br.Close()
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == pgUndefinedTable {
			// The statement was new to this connection and could not be
			// prepared outside the schema: prepare it in a pinned
			// transaction, which also caches it for next time.
			return d.readInTx(ctx, pc.Conn(), p, sql, args, scan)
		}
		return fmt.Errorf("tenant: pin schema: %w", err)
	}
	rows, err := br.Query()
	if err != nil {
		_ = br.Close()
		return err
	}
	err = scan(rows)
	rows.Close()
	if err == nil {
		err = rows.Err()
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return err
}

// readInTx is Read as a pinned transaction on an acquired connection.
func (d *DB) readInTx(ctx context.Context, pc *pgx.Conn, p *Project, sql string, args []any, scan func(pgx.Rows) error) error {
	return pgx.BeginTxFunc(ctx, pc, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT set_config('search_path', $1, true)`, pgx.Identifier{p.Schema}.Sanitize()); err != nil {
			return fmt.Errorf("tenant: pin schema: %w", err)
		}
		rows, err := tx.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		if err := scan(rows); err != nil {
			return err
		}
		return rows.Err()
	})
}
