package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"

	"yujing"
	"yujing/ingest"
	"yujing/ingest/sheet"
)

// SensorAdmin registers, changes and removes sensors, one at a time or a
// whole sheet at once (POST /api/v1/sensors/import, through package
// sheet): an *ingest.Catalog.
type SensorAdmin interface {
	Create(ctx context.Context, s yujing.Sensor) (yujing.Sensor, error)
	Update(ctx context.Context, s yujing.Sensor) (yujing.Sensor, error)
	Delete(ctx context.Context, id string) error
	sheet.Catalog
}

// MaxImportBody bounds the sheet (or JSON list) POST
// /api/v1/sensors/import takes: some 50 000 rows.
const MaxImportBody = 8 << 20

func (s *Server) sensorRoutes() {
	m := s.mux
	m.HandleFunc("GET /api/v1/sensors", s.sensors)
	m.HandleFunc("GET /api/v1/sensors/{id}", s.sensor)
	m.HandleFunc("POST /api/v1/sensors", s.putSensor(false))
	m.HandleFunc("POST /api/v1/sensors/import", s.importSensors)
	m.HandleFunc("PUT /api/v1/sensors/{id}", s.putSensor(true))
	m.HandleFunc("DELETE /api/v1/sensors/{id}", s.deleteSensor)
}

// Paging of GET /api/v1/sensors: a page holds DefaultSensorPage sensors
// unless limit says otherwise, at most MaxSensorPage.
const (
	DefaultSensorPage = 1000
	MaxSensorPage     = 10000
)

// sensors serves GET /api/v1/sensors?site=&family=&region=&status=&q=&limit=&after=:
// a page of the sensors the filters select, in order of id, as a JSON
// list; X-Total-Count says how many they select on every page, and a Link
// header (rel="next") names the next page while there is one: the same
// query with after= the last id of this page. With no more sensors than a
// page holds, the answer is every sensor, as it always was.
func (s *Server) sensors(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	q := ingest.SensorQuery{Site: v.Get("site"), Family: yujing.Family(v.Get("family")), Region: v.Get("region"),
		Status: v.Get("status"), Q: v.Get("q"), After: v.Get("after"), Limit: DefaultSensorPage}
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > MaxSensorPage {
			writeError(w, http.StatusBadRequest, fmt.Errorf("limit: want a number from 1 to %d, got %q", MaxSensorPage, l))
			return
		}
		q.Limit = n
	}
	switch q.Status {
	case "", "online", "offline":
	default:
		writeError(w, http.StatusBadRequest, fmt.Errorf("status: want online or offline, got %q", q.Status))
		return
	}
	page := s.opts.Sensors.Query(s.opts.Now(), q)
	w.Header().Set("X-Total-Count", strconv.Itoa(page.Total))
	if page.More && len(page.Sensors) > 0 {
		v.Set("after", page.Sensors[len(page.Sensors)-1].ID)
		v.Set("limit", strconv.Itoa(q.Limit))
		w.Header().Set("Link", "<"+r.URL.Path+"?"+v.Encode()+`>; rel="next"`)
	}
	writeJSON(w, http.StatusOK, page.Sensors)
}

func (s *Server) sensor(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if st, ok := s.opts.Sensors.Status(id, s.opts.Now()); ok {
		writeJSON(w, http.StatusOK, st)
		return
	}
	writeError(w, http.StatusNotFound, fmt.Errorf("sensor %s: %w", id, ingest.ErrSensorNotFound))
}

func (s *Server) putSensor(replace bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.opts.SensorsAdm == nil {
			writeError(w, http.StatusMethodNotAllowed, errors.New("sensors are read-only here"))
			return
		}
		var b ingest.SensorJSON
		dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&b); err != nil {
			writeError(w, http.StatusBadRequest, fmt.Errorf("request body: %v", err))
			return
		}
		if replace {
			if b.ID != "" && b.ID != r.PathValue("id") {
				writeError(w, http.StatusBadRequest, fmt.Errorf("id: body says %q but the URL says %q", b.ID, r.PathValue("id")))
				return
			}
			b.ID = r.PathValue("id")
		}
		sn, err := b.Sensor()
		if err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		do, code := s.opts.SensorsAdm.Create, http.StatusCreated
		if replace {
			do, code = s.opts.SensorsAdm.Update, http.StatusOK
		}
		out, err := do(r.Context(), sn)
		if err != nil {
			s.sensorFail(w, r, err)
			return
		}
		writeJSON(w, code, out)
	}
}

// sensorFail answers a catalogue error: 409 for an existing id, 404 for
// a missing one, 400 for a sensor that cannot be, else 500 (logged).
func (s *Server) sensorFail(w http.ResponseWriter, r *http.Request, err error) {
	var se *ingest.SensorError
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, ingest.ErrSensorExists):
		code = http.StatusConflict
	case errors.Is(err, ingest.ErrSensorNotFound):
		code = http.StatusNotFound
	case errors.As(err, &se):
		code = http.StatusBadRequest
	default:
		s.opts.Logger.Error("api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeError(w, code, err)
}

func (s *Server) deleteSensor(w http.ResponseWriter, r *http.Request) {
	if s.opts.SensorsAdm == nil {
		writeError(w, http.StatusMethodNotAllowed, errors.New("sensors are read-only here"))
		return
	}
	if err := s.opts.SensorsAdm.Delete(r.Context(), r.PathValue("id")); err != nil {
		s.sensorFail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// sheetTypes are the content types POST /api/v1/sensors/import reads as
// a sheet (browsers on Windows send a .csv file as application/vnd.ms-excel).
var sheetTypes = map[string]bool{"": true, "text/csv": true, "text/plain": true, "text/tab-separated-values": true,
	"application/csv": true, "application/vnd.ms-excel": true, "application/octet-stream": true}

// importAnswer is what POST /api/v1/sensors/import answers: the plan and
// outcome, and with a problem an error naming how many.
type importAnswer struct {
	*sheet.Result
	Error string `json:"error,omitempty"`
}

// importSensors imports a sheet (CSV in any encoding package sheet
// detects) or a JSON list of sensors, all or nothing: 200 with the plan
// when all is fine (applied unless ?dry_run=1), 422 with the plan and
// every problem, and nothing changed, when not.
func (s *Server) importSensors(w http.ResponseWriter, r *http.Request) {
	if s.opts.SensorsAdm == nil {
		writeError(w, http.StatusMethodNotAllowed, errors.New("sensors are read-only here"))
		return
	}
	var dry bool
	switch v := r.URL.Query().Get("dry_run"); v {
	case "", "0", "false":
	case "1", "true":
		dry = true
	default:
		writeError(w, http.StatusBadRequest, fmt.Errorf("dry_run: want 1 or 0, got %q", v))
		return
	}
	mt := ""
	if ct := r.Header.Get("Content-Type"); ct != "" {
		var err error
		if mt, _, err = mime.ParseMediaType(ct); err != nil {
			writeError(w, http.StatusUnsupportedMediaType, fmt.Errorf("Content-Type %q: %v", ct, err))
			return
		}
	}
	if mt != "application/json" && !sheetTypes[mt] {
		writeError(w, http.StatusUnsupportedMediaType, fmt.Errorf("Content-Type %s: send the sheet as text/csv (UTF-8, GBK or UTF-16) or a JSON list of sensors as application/json", mt))
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxImportBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Errorf("request body over %d bytes: import the sheet in parts", MaxImportBody))
			return
		}
		writeError(w, http.StatusBadRequest, fmt.Errorf("request body: %v", err))
		return
	}
	var res *sheet.Result
	if mt == "application/json" {
		res, err = sheet.ImportJSON(r.Context(), s.opts.SensorsAdm, data, dry)
	} else {
		res, err = sheet.Parse(data).Import(r.Context(), s.opts.SensorsAdm, dry)
	}
	if err != nil {
		s.opts.Logger.Error("sensor import failed", "err", err)
		writeError(w, http.StatusInternalServerError, fmt.Errorf("nothing imported: %w", err))
		return
	}
	if n := len(res.Problems); n > 0 {
		msg := fmt.Sprintf("%d problems; nothing imported", n)
		if n == 1 {
			msg = "1 problem; nothing imported"
		}
		writeJSON(w, http.StatusUnprocessableEntity, importAnswer{Result: res, Error: msg})
		return
	}
	writeJSON(w, http.StatusOK, importAnswer{Result: res})
}
