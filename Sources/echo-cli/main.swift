import SwiftEcho
