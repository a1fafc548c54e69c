package recovery

import (
	"encoding/json"

	"github.com/gin-gonic/gin"

	"github.com/lanyard-id/lanyard/internal/errx"
)

func errBadRequest(reason string) error { return errx.New(errx.Invalid, reason) }

// jsonDecoder is a strict decoder of the request body (unknown keys are
// refused, as Kratos' admin API does).
func jsonDecoder(c *gin.Context) *json.Decoder {
	dec := json.NewDecoder(c.Request.Body)
	dec.DisallowUnknownFields()
	return dec
}
