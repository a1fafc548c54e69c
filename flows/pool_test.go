package flows_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/lanyard-id/lanyard/flows"
	"github.com/lanyard-id/lanyard/flows/ratelimit"
	"github.com/lanyard-id/lanyard/identity/session"
	"github.com/lanyard-id/lanyard/internal/server"
	"github.com/lanyard-id/lanyard/internal/server/servertest"
	"github.com/lanyard-id/lanyard/tenant"
	"github.com/lanyard-id/lanyard/tenant/tenanttest"
)

// A burst of flow submissions larger than the connection pool: each holds
// its flow's transaction while it looks the request's session up over a
// second connection. Without a bound on such transactions every
// connection is taken by a first transaction and every request waits for
// a second one until its deadline; with it, all of them are answered.
func TestSubmitBurstLargerThanThePoolIsAnswered(t *testing.T) {
	t.Parallel()
	env := tenanttest.Get(t)
	cfg := env.Pool.Config().Copy()
	cfg.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	srv := httptest.NewServer(server.APIRouter(servertest.DepsWithDB(t, tenant.NewDB(pool))))
	defer srv.Close()
	p := tenanttest.NewProject(t).Project
	base := srv.URL + "/p/" + p.Slug
	err = env.DB.InTx(context.Background(), p, func(tx tenant.Tx) error {
		c := flows.DefaultConfig()
		c.Limits["registration:ip"] = ratelimit.Limit{Rate: 1000, Period: time.Minute, Burst: 1000}
		return flows.SaveConfig(context.Background(), tx, c)
	})
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 20 * time.Second}

	const n = 24
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := client.Get(base + "/self-service/registration/api")
			if err != nil {
				errs <- err
				return
			}
			var f struct{ ID string }
			_ = json.NewDecoder(res.Body).Decode(&f)
			res.Body.Close()
			<-start
			// A session token that is not one: the handler looks it up in
			// the flow's transaction (cache miss, then Postgres).
			req, _ := http.NewRequest("POST", base+"/self-service/registration?flow="+f.ID,
				strings.NewReader(fmt.Sprintf(`{"method":"password","traits":{"email":"burst%d@example.com"},"password":"a long enough passphrase %d"}`, i, i)))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set(session.HeaderSessionToken, fmt.Sprintf("lyst_%043d", i))
			res, err = client.Do(req)
			if err != nil {
				errs <- err
				return
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				errs <- fmt.Errorf("registration %d = %d %s", i, res.StatusCode, body)
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
