// <weft/channel/channel.hpp> — channels and select, generic over the parker. Users include
// <weft/os.hpp> or <weft/fiber.hpp>, which name the concrete types (weft::os::channel<T>(),
// weft::fiber::sender<T>, ...); this header is for code that picks the parker itself.
#pragma once

#include "channels.hpp"
#include "endpoints.hpp"
#include "result.hpp"
#include "select.hpp"
