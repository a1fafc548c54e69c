package billing

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
)

func isForeignKey(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23503"
}
