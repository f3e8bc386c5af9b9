// swift-tools-version:6.0
// The Swift package of libasyncring: async/await and AsyncSequence over the C library.
// Sources live under swift/ (and the example under examples/swift/); the C library is
// found through pkg-config (asyncring.pc), so build and install it first (`make install`,
// or `make build/prefix/.stamp` with PKG_CONFIG_PATH=build/prefix/lib/pkgconfig).
import PackageDescription

let package = Package(
    name: "AsyncRing",
    products: [
        .library(name: "AsyncRing", targets: ["AsyncRing"]),
        .executable(name: "EchoServer", targets: ["EchoServer"]),
    ],
    targets: [
        .systemLibrary(
            name: "CAsyncRing",
            path: "swift/CAsyncRing",
            pkgConfig: "asyncring"
        ),
        .target(
            name: "AsyncRing",
            dependencies: ["CAsyncRing"],
            path: "swift/AsyncRing"
        ),
        .testTarget(
            name: "AsyncRingTests",
            dependencies: ["AsyncRing", "CAsyncRing"],
            path: "swift/AsyncRingTests"
        ),
        .executableTarget(
            name: "EchoServer",
            dependencies: ["AsyncRing"],
            path: "examples/swift/EchoServer"
        ),
    ],
    swiftLanguageModes: [.v6]
)
