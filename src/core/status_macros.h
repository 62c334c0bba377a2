// Early-return helpers for absl::Status / absl::StatusOr (absl keeps its own
// macros internal).
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define PD_CONCAT_INNER_(a, b) a##b
#define PD_CONCAT_(a, b) PD_CONCAT_INNER_(a, b)

#define PD_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::absl::Status pd_status_ = (expr);      \
    if (!pd_status_.ok()) return pd_status_; \
  } while (false)

#define PD_ASSIGN_OR_RETURN(lhs, expr) \
  PD_ASSIGN_OR_RETURN_IMPL_(PD_CONCAT_(pd_statusor_, __LINE__), lhs, expr)

#define PD_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return std::move(tmp).status();  \
  lhs = std::move(tmp).value()
