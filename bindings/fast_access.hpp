#pragma once
// CPython-level access to pybind11-bound objects for the hot paths (indicator updates, event
// fields read by Python strategies): pybind11's generic dispatch costs several times an empty
// Python call, a getset descriptor costs what CPython's own attributes cost.
#include <pybind11/pybind11.h>

#include <cstdint>
#include <type_traits>

namespace tradecore::bindings {

/// The C++ object behind a pybind11 instance. The descriptor machinery has already checked that
/// `self` is an instance of the bound type (or a subclass), so the layout is pybind11's.
template <class T>
T* self_pointer(PyObject* self) {
  auto* inst = reinterpret_cast<pybind11::detail::instance*>(self);
  if (inst->simple_layout) [[likely]] {
    if (auto* p = static_cast<T*>(inst->simple_value_holder[0])) [[likely]]
      return p;
    PyErr_SetString(PyExc_TypeError, "object is not initialised (__init__ was not called)");
    return nullptr;
  }
  // Python-side multiple inheritance: take pybind11's slow, general route.
  try {
    return pybind11::handle(self).cast<T*>();
  } catch (...) {
    pybind11::detail::try_translate_exceptions();
    return nullptr;
  }
}

/// Python value of a plain field.
template <class F>
PyObject* field_to_python(const F& value) {
  if constexpr (std::is_floating_point_v<F>) {
    return PyFloat_FromDouble(static_cast<double>(value));
  } else if constexpr (std::is_enum_v<F>) {
    return PyLong_FromLong(static_cast<long>(value));
  } else if constexpr (std::is_signed_v<F>) {
    return PyLong_FromLongLong(static_cast<long long>(value));
  } else {
    return PyLong_FromUnsignedLongLong(static_cast<unsigned long long>(value));
  }
}

template <auto Member>
struct FieldGetter;

template <class T, class F, F T::*Member>
struct FieldGetter<Member> {
  static PyObject* get(PyObject* self, void*) {
    T* p = self_pointer<T>(self);
    if (p == nullptr) [[unlikely]]
      return nullptr;
    return field_to_python(p->*Member);
  }
};

/// Read-only attribute `name` of a bound struct, as a CPython getset descriptor.
template <auto Member, class Class>
void add_fast_field(Class& cls, const char* name) {
  static PyGetSetDef def{};  // one per member; must outlive the type
  def.name = name;
  def.get = &FieldGetter<Member>::get;
  PyObject* descr = PyDescr_NewGetSet(reinterpret_cast<PyTypeObject*>(cls.ptr()), &def);
  if (descr == nullptr) throw pybind11::error_already_set();
  cls.attr(name) = pybind11::reinterpret_steal<pybind11::object>(descr);
}

}  // namespace tradecore::bindings
