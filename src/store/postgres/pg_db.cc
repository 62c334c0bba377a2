#include "store/postgres/pg_db.h"

// Implemented by the pg-core work (see pg_db.h).
